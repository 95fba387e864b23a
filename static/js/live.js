/* CoinSite gifts: the gift panel (live pages and posts) and the live page's websocket.
   Plain JS, no dependencies. The page works without it: the panel is a normal form. */
(function () {
  "use strict";
  if (window.CoinSiteGifts) { return; }  // the panel partial and a page may both load this file
  window.CoinSiteGifts = {};

  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") { return window.crypto.randomUUID(); }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function fmt(n) { return Number(n).toLocaleString("en-US"); }

  function node(tag, className, text) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    if (text !== undefined) { el.textContent = text; }
    return el;
  }

  // ------------------------------------------------------------ the live page

  function LivePage(root) {
    this.root = root;
    this.path = root.getAttribute("data-ws-path");
    this.version = parseInt(root.getAttribute("data-version") || "0", 10);
    this.ended = root.getAttribute("data-status") === "ended";
    this.feed = root.querySelector("[data-gift-feed]");
    this.board = root.querySelector("[data-session-board]");
    this.connection = root.querySelector("[data-live-connection]");
    this.backoff = 500;
    this.connect();
  }

  // The websocket closes when the server or its Redis is unreachable: say so until it is back.
  LivePage.prototype.showConnection = function (live) {
    this.root.setAttribute("data-connection", live ? "live" : "reconnecting");
    if (this.connection) { this.connection.hidden = live; }
  };

  LivePage.prototype.connect = function () {
    var self = this;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + window.location.host + this.path);
    this.ws = ws;
    // A handshake the server never finishes (its Redis hung) must not leave the page waiting.
    var watchdog = window.setTimeout(function () {
      if (ws.readyState === WebSocket.CONNECTING) { ws.close(); }
    }, 5000);
    ws.onopen = function () {
      window.clearTimeout(watchdog);
      self.backoff = 500;
      self.root.setAttribute("data-connected", "1");
      self.showConnection(true);
    };
    ws.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      self.handle(msg);
    };
    ws.onclose = function (ev) {
      window.clearTimeout(watchdog);
      self.root.removeAttribute("data-connected");
      if (ev.code === 4404) { return; }
      self.showConnection(false);
      // Jittered, so thousands of pages do not all reconnect in the same instant after an outage.
      var delay = self.backoff / 2 + Math.random() * self.backoff / 2;
      window.setTimeout(function () { self.connect(); }, delay);
      self.backoff = Math.min(self.backoff * 2, 8000);
    };
  };

  // Send a JSON message to the server over the page's websocket (chat, likes, heartbeats);
  // false when it is not open.
  LivePage.prototype.send = function (obj) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) { return false; }
    this.ws.send(JSON.stringify(obj));
    return true;
  };

  // The room (chat, likes, viewers, gift animations) is static/js/chat.js, loaded after this
  // file: created on the first event, by when every deferred script has run.
  LivePage.prototype.roomView = function () {
    if (!this.room && window.CoinSiteRoom) { this.room = new window.CoinSiteRoom(this.root, this); }
    return this.room || null;
  };

  LivePage.prototype.handle = function (msg) {
    var i, room = this.roomView();
    if (msg.type === "snapshot") {
      for (i = msg.feed.length - 1; i >= 0; i--) { this.addGift(msg.feed[i]); }
      this.applyState(msg.state);
      if (msg.status === "ended") { this.markEnded(); }
      if (room) { room.snapshot(msg); }
    } else if (msg.type === "gifts") {
      for (i = 0; i < msg.gift_sends.length; i++) { this.addGift(msg.gift_sends[i]); }
      this.applyState(msg.state);  // null during a burst: a "state" event follows
      if (room) {
        room.gifts(msg.gift_sends);
        if (msg.room) { room.apply(msg.room); }
      }
    } else if (msg.type === "room") {
      if (room) { room.apply(msg); }
    } else if (msg.type === "chat_refused") {
      if (room) { room.refused(msg); }
    } else if (msg.type === "state") {
      this.applyState(msg.state);
    } else if (msg.type === "ended") {
      this.markEnded();
    }
  };

  LivePage.prototype.addGift = function (g) {
    if (!this.feed || this.feed.querySelector('[data-gift-send-id="' + Number(g.id) + '"]')) { return; }
    var empty = this.feed.querySelector("[data-feed-empty]");
    if (empty) { empty.remove(); }
    var li = node("li", "fresh");
    li.setAttribute("data-gift-send-id", String(Number(g.id)));
    li.appendChild(node("strong", "who", g.sender));
    li.appendChild(document.createTextNode(" sent "));
    li.appendChild(node("span", "what", (g.gift.emoji ? g.gift.emoji + " " : "") + g.gift.name));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(node("span", "combo-count", "×" + fmt(g.count)));
    // Keep newest first even if two broadcasts arrive out of order.
    var before = null, items = this.feed.children, j;
    for (j = 0; j < items.length; j++) {
      if (Number(items[j].getAttribute("data-gift-send-id")) < Number(g.id)) { before = items[j]; break; }
    }
    this.feed.insertBefore(li, before);
    while (this.feed.children.length > 50) { this.feed.removeChild(this.feed.lastElementChild); }
    window.setTimeout(function () { li.classList.remove("fresh"); }, 1500);
  };

  LivePage.prototype.applyState = function (s) {
    if (!s || s.version < this.version) { return; }  // an older state broadcast late
    this.version = s.version;
    this.root.setAttribute("data-version", String(s.version));
    var total = this.root.querySelector("[data-total-coins]");
    if (total) { total.textContent = fmt(s.total_coins); }
    var goal = this.root.querySelector("[data-goal]");
    if (goal && s.goal) {
      goal.hidden = false;
      goal.querySelector("[data-goal-text]").textContent =
        (s.goal.emoji ? s.goal.emoji + " " : "") + fmt(s.goal.progress) + " / " + fmt(s.goal.target) + " " + s.goal.gift;
      var bar = goal.querySelector("[data-goal-bar]");
      bar.value = s.goal.percent;
      bar.textContent = s.goal.percent + "%";
    }
    if (this.board) {
      while (this.board.firstChild) { this.board.removeChild(this.board.firstChild); }
      if (!s.board.length) { this.board.appendChild(node("li", "empty", "No gifts yet.")); }
      var size = parseInt(this.board.getAttribute("data-board-size") || "0", 10) || s.board.length;
      for (var i = 0; i < Math.min(size, s.board.length); i++) {
        var li = node("li");
        li.appendChild(node("span", "who", s.board[i].name));
        li.appendChild(document.createTextNode(" "));
        li.appendChild(node("span", "num", fmt(s.board[i].coins)));
        this.board.appendChild(li);
      }
    }
  };

  LivePage.prototype.markEnded = function () {
    this.ended = true;
    if (this.room) { this.room.ended(); }
    this.root.setAttribute("data-status", "ended");
    var badge = this.root.querySelector("[data-live-status]");
    if (badge) { badge.textContent = "Ended"; badge.classList.add("ended"); }
    var form = this.root.querySelector("[data-gift-form]");
    if (form) {
      var note = node("p", "note", this.root.getAttribute("data-ended-note") || "");
      form.parentNode.replaceChild(note, form);
    }
  };

  // ------------------------------------------------------------ the gift panel

  function csrfToken(form) {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // The form posts to the page (no script); the script sends to the API's gift endpoint
  // (data-api-url), signed in by the session cookie, with the CSRF token and an Idempotency-Key.
  function GiftPanel(panel, live) {
    var form = panel.querySelector("[data-gift-form]");
    if (!form) { return; }
    this.form = form;
    this.live = live;
    this.status = panel.querySelector("[data-gift-status]");
    this.total = panel.querySelector("[data-gift-total]");
    this.balance = panel.querySelector("[data-gift-balance]");
    var self = this;
    form.addEventListener("change", function () { self.showTotal(); });
    form.addEventListener("input", function () { self.showTotal(); });
    Array.prototype.forEach.call(form.querySelectorAll("[data-combo]"), function (b) {
      b.addEventListener("click", function () {
        form.elements.count.value = b.getAttribute("data-combo");
        self.showTotal();
      });
    });
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      // A fresh key per click: each click is one gift; a retry of this click reuses its key.
      self.send(self.body(), uuid(), 0);
    });
    this.showTotal();
  }

  GiftPanel.prototype.body = function () {
    var chosen = this.form.querySelector("input[name=gift]:checked");
    var count = String(this.form.elements.count.value).trim();
    // A whole number goes as a JSON number; anything else as typed, for the API to refuse.
    return JSON.stringify({
      gift: chosen ? Number(chosen.value) : null,
      count: /^[0-9]{1,9}$/.test(count) ? Number(count) : count
    });
  };

  GiftPanel.prototype.showTotal = function () {
    var chosen = this.form.querySelector("input[name=gift]:checked");
    var count = parseInt(this.form.elements.count.value, 10);
    if (!chosen || !(count > 0) || !this.total) { if (this.total) { this.total.hidden = true; } return; }
    this.total.hidden = false;
    this.total.textContent = "Total: " + fmt(Number(chosen.getAttribute("data-coins")) * count) + " coins";
  };

  GiftPanel.prototype.say = function (text, isError, link) {
    if (!this.status) { return; }
    this.status.textContent = text;
    this.status.className = "gift-status" + (isError ? " error" : " success");
    if (link) {
      this.status.appendChild(document.createTextNode(" "));
      var a = node("a", "", "Get coins");
      a.href = link;
      this.status.appendChild(a);
    }
  };

  // The balance after a gift, from the API's wallet endpoint (null if it cannot be read now).
  GiftPanel.prototype.fetchBalance = function () {
    return fetch(this.form.getAttribute("data-wallet-url"), {
      credentials: "same-origin",
      headers: { "Accept": "application/json" }
    }).then(function (response) {
      return response.ok ? response.json() : null;
    }).then(function (wallet) {
      return wallet && typeof wallet.coins === "number" ? wallet.coins : null;
    }).catch(function () { return null; });
  };

  GiftPanel.prototype.showBalance = function (coins) {
    if (coins === null) { return; }
    if (this.balance) { this.balance.textContent = fmt(coins); }
    var nav = document.querySelector("[data-testid=nav-balance] .coins");
    if (nav) { nav.textContent = String(coins); }
  };

  GiftPanel.prototype.send = function (body, key, attempt) {
    var self = this;
    self.say(attempt ? "Retrying…" : "Sending…", false);
    fetch(self.form.getAttribute("data-api-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
        "X-CSRFToken": csrfToken(self.form)
      }
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      var data = result.data;
      if (result.ok) {
        if (self.live) { self.live.addGift(data); }
        return self.fetchBalance().then(function (coins) {
          self.showBalance(coins);
          self.say("You sent " + (data.gift.emoji ? data.gift.emoji + " " : "") + data.gift.name + " ×" + fmt(data.count) + ".", false);
        });
      }
      self.say(data.message || "The gift could not be sent.", true, data.extra && data.extra.coins_url);
    }).catch(function () {
      // Network failure or a non-JSON answer: the same key cannot send the gift twice.
      if (attempt < 2) {
        window.setTimeout(function () { self.send(body, key, attempt + 1); }, 600 * (attempt + 1));
      } else {
        self.say("The gift could not be confirmed (network problem). Check your balance before trying again.", true);
      }
    });
  };

  function init() {
    var root = document.querySelector("[data-live-session]");
    var live = root ? new LivePage(root) : null;
    window.CoinSiteGifts.live = live;
    Array.prototype.forEach.call(document.querySelectorAll("[data-gift-panel]"), function (panel) {
      new GiftPanel(panel, live && root.contains(panel) ? live : null);
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
