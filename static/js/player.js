// The live page's video: HLS from the media server played with hls.js (static/vendor/hls.min.js,
// from npm). Muted autoplay (browsers allow it), an unmute and a fullscreen button, and a
// message in place of the video that says what is going on: not started yet, reconnecting,
// not decodable, player missing. The player's data-state says the same for tests:
// offline | playing | reconnecting | error | ended | unavailable.
(function () {
  "use strict";
  const box = document.querySelector("[data-player]");
  if (!box || !box.dataset.playlist) return;
  const video = box.querySelector("[data-player-video]");
  const poster = box.querySelector("[data-player-poster]");
  const message = box.querySelector("[data-player-message]");
  const controls = box.querySelector("[data-player-controls]");
  const unmute = box.querySelector("[data-player-unmute]");
  const fullscreen = box.querySelector("[data-player-fullscreen]");
  const playlist = box.dataset.playlist;
  const RETRY_MS = 3000;
  let hls = null;
  let retryTimer = null;
  let recoveredDecode = false;

  function show(state, text) {
    box.dataset.state = state;
    const playing = state === "playing";
    poster.hidden = playing;
    controls.hidden = !playing;
    if (!playing) message.textContent = text || "";
  }

  function retryLater(state, text) {
    show(state, text);
    if (hls) { hls.destroy(); hls = null; }
    clearTimeout(retryTimer);
    retryTimer = setTimeout(start, RETRY_MS);
  }

  function start() {
    if (box.dataset.state === "ended") return;
    if (window.Hls && window.Hls.isSupported()) {
      hls = new window.Hls({ enableWorker: false, liveSyncDurationCount: 1, manifestLoadingMaxRetry: 0 });
      hls.on(window.Hls.Events.ERROR, onError);
      hls.on(window.Hls.Events.MANIFEST_PARSED, play);
      hls.loadSource(playlist);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      video.src = playlist;  // Safari plays HLS itself
      video.addEventListener("error", function () {
        retryLater("offline", box.dataset.offlineMessage);
      }, { once: true });
      play();
    } else if (!window.Hls) {
      show("error", "The video player (hls.js) is not installed on this server, so the video can't play.");
    } else {
      show("error", "This browser can't play live video (no Media Source Extensions).");
    }
  }

  function play() {
    const attempt = video.play();
    if (attempt && attempt.catch) {
      attempt.catch(function (err) {
        show("error", "The browser didn't start the video (" + err.name + "). Press play to start it.");
        video.controls = true;
      });
    }
  }

  function onError(_event, data) {
    if (!data.fatal) return;
    const Hls = window.Hls;
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      const code = data.response && data.response.code;
      if (box.dataset.state === "playing") {
        retryLater("reconnecting", "The stream was interrupted. Reconnecting…");
      } else if (code === 404 || data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR) {
        retryLater("offline", box.dataset.offlineMessage);
      } else {
        retryLater("reconnecting", "The video server can't be reached (" + data.details + "). Retrying…");
      }
    } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recoveredDecode) {
      recoveredDecode = true;
      hls.recoverMediaError();
    } else {
      if (hls) { hls.destroy(); hls = null; }
      show("error", "The video can't be played: " + data.details + ".");
    }
  }

  video.addEventListener("playing", function () { show("playing"); });

  unmute.addEventListener("click", function () {
    video.muted = !video.muted;
    unmute.setAttribute("aria-pressed", String(!video.muted));
    unmute.textContent = video.muted ? "🔇 Unmute" : "🔊 Mute";
    if (!video.muted) play();
  });

  fullscreen.addEventListener("click", function () {
    if (document.fullscreenElement) {
      document.exitFullscreen();
    } else if (box.requestFullscreen) {
      box.requestFullscreen().catch(function () { video.requestFullscreen && video.requestFullscreen(); });
    }
  });

  // live.js marks the session ended (websocket): stop the video and say so.
  const badge = document.querySelector("[data-live-status]");
  if (badge && window.MutationObserver) {
    new MutationObserver(function () {
      if (badge.classList.contains("ended")) {
        clearTimeout(retryTimer);
        if (hls) { hls.destroy(); hls = null; }
        video.hidden = true;
        show("ended", "This live session has ended.");
      }
    }).observe(badge, { attributes: true, attributeFilter: ["class"] });
  }

  start();
})();
