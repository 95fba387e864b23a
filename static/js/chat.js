/* CoinSite live room: chat, moderation, likes, the viewer count and gift animations.
   static/js/live.js owns the websocket and hands this file the room's events
   (window.CoinSiteRoom, created by the live page on its first event). Plain JS, no dependencies.
   Chat text is always set with textContent: a message is never HTML. */
(function () {
  "use strict";
  if (window.CoinSiteRoom) { return; }

  var HEARTBEAT_MS = 10000;  // gifts.presence.HEARTBEAT_SECONDS
  var LIKE_FLUSH_MS = 250;   // taps are summed and sent a few times a second
  var CHAT_SIZE = 100;       // messages kept on the page
  var TIMEOUT_MINUTES = 5;   // what the "Time out" button gives
  var BIG_GIFT_MS = 2500;    // how long a big gift holds the video area

  function fmt(n) { return Number(n).toLocaleString("en-US"); }

  function node(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined) { el.textContent = text; }
    return el;
  }

  function reducedMotion() {
    return !!(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  }

  function Room(root, live) {
    var self = this;
    this.root = root;
    this.live = live;
    this.section = root.querySelector("[data-chat]");
    this.log = root.querySelector("[data-chat-log]");
    this.form = root.querySelector("[data-chat-form]");
    this.status = root.querySelector("[data-chat-status]");
    this.viewers = root.querySelector("[data-viewer-count]");
    this.likes = root.querySelector("[data-like-count]");
    this.likeButton = root.querySelector("[data-like-button]");
    this.hearts = root.querySelector("[data-hearts]");
    this.stage = root.querySelector("[data-gift-stage]");
    this.you = { user: null, signed_in: false, moderator: false, creator: false };
    this.likeTotal = 0;
    this.pendingTaps = 0;
    this.seenGifts = {};
    this.bigQueue = [];
    this.playing = null;
    this.combos = {};  // sender + gift -> {count, until} while the sender keeps sending it
    this.overlay = root.hasAttribute("data-overlay");

    if (this.form) {
      this.form.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var input = self.form.elements.text;
        var text = String(input.value).trim();
        if (!text) { return; }
        if (self.live.send({ type: "chat", text: text })) {
          input.value = "";
          self.say("", false);
        } else {
          self.say("Not connected: your message was not sent.", true);
        }
      });
    }
    if (this.log) {
      this.log.addEventListener("click", function (ev) {
        var button = ev.target.closest ? ev.target.closest("button[data-action]") : null;
        if (button) { self.act(button); }
      });
    }
    if (this.likeButton) {
      this.likeButton.addEventListener("click", function () { self.tap(); });
    }
    if (this.stage) {
      this.stage.addEventListener("click", function () { self.skip(); });
      document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") { self.skip(); } });
    }
    window.setInterval(function () { self.live.send({ type: "heartbeat" }); }, HEARTBEAT_MS);
    window.setInterval(function () { self.flushTaps(); }, LIKE_FLUSH_MS);
  }

  Room.prototype.say = function (text, isError) {
    if (!this.status) { return; }
    this.status.textContent = text;
    this.status.className = "chat-status" + (isError ? " error" : "");
  };

  // ---------------------------------------------------------------- events from live.js

  Room.prototype.snapshot = function (msg) {
    this.you = msg.you || this.you;
    this.root.setAttribute("data-chat-role", this.you.creator ? "creator" : (this.you.moderator ? "moderator" : "viewer"));
    if (this.log) {
      while (this.log.firstChild) { this.log.removeChild(this.log.firstChild); }
      for (var i = msg.chat.length - 1; i >= 0; i--) { this.addMessage(msg.chat[i]); }
    }
    this.showLikes(msg.likes);
    this.showViewers(msg.viewers);
    for (var j = 0; j < msg.feed.length; j++) { this.seenGifts[msg.feed[j].id] = true; }  // no replays
  };

  Room.prototype.apply = function (room) {
    var i;
    for (i = 0; i < room.chat.length; i++) { this.addMessage(room.chat[i]); }
    for (i = 0; i < room.deleted.length; i++) { this.removeMessage(room.deleted[i]); }
    for (i = 0; i < (room.kept_out || []).length; i++) {
      if (this.you.user !== null && room.kept_out[i].user === this.you.user) { this.say(room.kept_out[i].message, true); }
    }
    this.showLikes(room.likes);
    this.showViewers(room.viewers);
  };

  Room.prototype.refused = function (msg) {
    this.say(msg.message, true);
  };

  Room.prototype.ended = function () {
    if (this.form) { this.form.hidden = true; }
    if (this.likeButton) { this.likeButton.disabled = true; }
  };

  // ---------------------------------------------------------------- chat

  Room.prototype.addMessage = function (m) {
    if (!this.log || this.log.querySelector('[data-chat-id="' + Number(m.id) + '"]')) { return; }
    var li = node("li", "chat-message");
    li.setAttribute("data-chat-id", String(Number(m.id)));
    li.appendChild(node("strong", "who", m.author));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(node("span", "text", m.text));
    var tools = node("span", "chat-tools");
    if (this.you.moderator) {
      tools.appendChild(this.button("delete", "Delete"));
      tools.appendChild(this.button("timeout", "Time out " + TIMEOUT_MINUTES + " min"));
      tools.appendChild(this.button("ban", "Ban"));
    }
    if (this.you.creator) { tools.appendChild(this.button("appoint", "Make moderator")); }
    if (this.you.signed_in) { tools.appendChild(this.button("report", "Report")); }
    if (tools.firstChild) { li.appendChild(tools); }
    // Oldest first, newest at the bottom, in id order even if two batches cross.
    var before = null, items = this.log.children;
    for (var j = items.length - 1; j >= 0; j--) {
      if (Number(items[j].getAttribute("data-chat-id")) > Number(m.id)) { before = items[j]; } else { break; }
    }
    this.log.insertBefore(li, before);
    while (this.log.children.length > CHAT_SIZE) { this.log.removeChild(this.log.firstElementChild); }
    this.log.scrollTop = this.log.scrollHeight;
  };

  // A line of the timeline that is not a message (a gift): no author tools, never reported.
  Room.prototype.addNotice = function (text) {
    if (!this.log || this.overlay) { return; }
    this.log.appendChild(node("li", "chat-notice", text));
    while (this.log.children.length > CHAT_SIZE) { this.log.removeChild(this.log.firstElementChild); }
    this.log.scrollTop = this.log.scrollHeight;
  };

  Room.prototype.button = function (action, label) {
    var b = node("button", "chat-action", label);
    b.type = "button";
    b.setAttribute("data-action", action);
    return b;
  };

  Room.prototype.removeMessage = function (id) {
    var li = this.log && this.log.querySelector('[data-chat-id="' + Number(id) + '"]');
    if (li) { li.remove(); }
  };

  Room.prototype.act = function (button) {
    var li = button.closest("[data-chat-id]");
    var id = Number(li.getAttribute("data-chat-id"));
    var action = button.getAttribute("data-action");
    if (action === "report") { this.report(id, button); return; }
    var msg = { type: action, message: id };
    if (action === "timeout") { msg.minutes = TIMEOUT_MINUTES; }
    if (!this.live.send(msg)) { this.say("Not connected: try again in a moment.", true); }
  };

  // A report goes through the site's reports API, like every other report.
  Room.prototype.report = function (id, button) {
    var self = this;
    var token = this.form ? this.form.querySelector("input[name=csrfmiddlewaretoken]") : null;
    fetch(this.section.getAttribute("data-report-url"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "Content-Type": "application/json", "X-CSRFToken": token ? token.value : "" },
      body: JSON.stringify({ target_type: "chat", target_id: id, reason: "other" })
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      self.say(result.data.message || (result.ok ? "Reported." : "The report could not be sent."), !result.ok);
      if (result.ok) { button.disabled = true; }
    }).catch(function () { self.say("The report could not be sent (network problem).", true); });
  };

  // ---------------------------------------------------------------- likes and viewers

  Room.prototype.tap = function () {
    this.pendingTaps += 1;
    this.likeTotal += 1;
    this.showLikes(null);
    this.floatHeart();
  };

  Room.prototype.flushTaps = function () {
    if (!this.pendingTaps) { return; }
    if (this.live.send({ type: "like", taps: this.pendingTaps })) { this.pendingTaps = 0; }
  };

  Room.prototype.showLikes = function (total) {
    if (typeof total === "number") { this.likeTotal = Math.max(total, this.likeTotal - this.pendingTaps); }
    if (this.likes && (typeof total === "number" || this.likeTotal)) { this.likes.textContent = fmt(this.likeTotal); }
  };

  Room.prototype.showViewers = function (count) {
    if (this.viewers && typeof count === "number") { this.viewers.textContent = fmt(count); }
  };

  Room.prototype.floatHeart = function () {
    if (!this.hearts || reducedMotion()) { return; }
    var heart = node("span", "heart", "♥");
    heart.style.left = (10 + Math.random() * 80) + "%";
    this.hearts.appendChild(heart);
    window.setTimeout(function () { heart.remove(); }, 1600);
  };

  // ---------------------------------------------------------------- gift animations

  // Small gifts slide into the feed (live.js adds them; CSS slides them in). Big gifts take
  // over the video area one at a time, in order; a click skips the one playing. A sender who
  // keeps sending the same gift shows a growing streak instead of a new animation.
  Room.prototype.gifts = function (sends) {
    for (var i = 0; i < sends.length; i++) {
      var g = sends[i];
      if (this.seenGifts[g.id]) { continue; }
      this.seenGifts[g.id] = true;
      var streak = this.streak(g);
      this.addNotice(g.sender + " sent " + (g.gift.emoji ? g.gift.emoji + " " : "") + g.gift.name + " ×" + fmt(g.count));
      // The OBS overlay alerts every gift; the live page only the big ones.
      if (g.gift.tier === "big" || this.overlay) { this.bigQueue.push({ send: g, streak: streak }); }
    }
    this.playNext();
  };

  Room.prototype.streak = function (g) {
    var key = g.sender + "\u0000" + g.gift.id, now = Date.now();
    var combo = this.combos[key];
    if (!combo || combo.until < now) { combo = this.combos[key] = { count: 0 }; }
    combo.count += g.count;
    combo.until = now + 5000;
    var li = this.root.querySelector('[data-gift-send-id="' + Number(g.id) + '"] .combo-count');
    if (li && combo.count > g.count) { li.textContent = "×" + fmt(combo.count); }
    return combo.count;
  };

  Room.prototype.playNext = function () {
    if (this.playing || !this.bigQueue.length || !this.stage) { return; }
    var self = this, item = this.bigQueue.shift(), g = item.send;
    var card = node("div", "gift-takeover" + (reducedMotion() ? " still" : ""));
    card.setAttribute("data-playing-gift", g.gift.name);
    if (g.gift.image) {
      var img = node("img");
      img.src = g.gift.image;
      img.alt = "";
      card.appendChild(img);
    } else {
      card.appendChild(node("span", "gift-emoji", g.gift.emoji || "🎁"));
    }
    card.appendChild(node("strong", "gift-line", g.sender + " sent " + g.gift.name));
    card.appendChild(node("span", "gift-streak", "×" + fmt(item.streak)));
    if (!this.overlay) { card.appendChild(node("small", "gift-skip", "Click or press Esc to skip")); }
    this.stage.appendChild(card);
    this.stage.classList.add("active");
    this.root.setAttribute("data-gift-playing", g.gift.name);
    this.playing = { card: card, timer: window.setTimeout(function () { self.skip(); }, BIG_GIFT_MS) };
  };

  Room.prototype.skip = function () {
    if (!this.playing) { return; }
    window.clearTimeout(this.playing.timer);
    this.playing.card.remove();
    this.playing = null;
    this.stage.classList.remove("active");
    this.root.removeAttribute("data-gift-playing");
    this.playNext();
  };

  window.CoinSiteRoom = Room;
})();
