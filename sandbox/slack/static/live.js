// Live updates: listen to /_sandbox/events (server-sent events) and call onChange on every
// change; while the stream is down, or where EventSource is missing, poll instead.
"use strict";

(function () {
  const POLL_MS = 1500;

  function connect(onChange, onMode) {
    let timer = null;
    const poll = () => {
      if (timer === null) timer = window.setInterval(onChange, POLL_MS);
      onMode("polling");
    };
    if (typeof window.EventSource !== "function") {
      poll();
      return;
    }
    const source = new window.EventSource("/_sandbox/events");
    source.onopen = () => {
      window.clearInterval(timer);
      timer = null;
      onMode("live");
    };
    source.onmessage = () => onChange();
    source.onerror = poll;
  }

  window.Live = { connect };
})();
