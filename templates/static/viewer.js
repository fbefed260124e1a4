/* pitchmap viewer: tells the sender which sections of a shared document were on screen, and
 * for how long. The protocol is docs/tracking.md; nothing here reads or sends anything else.
 *
 * - on screen: at least half of the section visible, or the section covering at least half
 *   of the viewport;
 * - seen: on screen while the page is visible;
 * - dwell: on screen while the page is visible and the reader active (a scroll, key, pointer
 *   or touch event within idle_ms; opening the page and coming back to it count as activity).
 * Time is accrued up to each transition's own instant, not to the next timer tick.
 */
(() => {
  'use strict';

  const match = /^\/d\/([^/]+)\/?$/.exec(window.location.pathname);
  if (!match || typeof window.fetch !== 'function') return;
  const BASE = `/d/${match[1]}`;
  const THRESHOLDS = [0, 0.25, 0.5, 0.75, 1];
  const ACTIVITY = ['scroll', 'keydown', 'pointerdown', 'pointermove', 'wheel', 'touchstart', 'mousemove'];
  const LISTEN = { capture: true, passive: true };
  const FINAL = new Set([403, 404, 410]); // this visit may not report any more

  let visit = 0;
  let secret = '';
  let heartbeatMs = 2000;
  let idleMs = 120000;
  let stopped = false;
  let timer = 0;
  let observer = null;
  let frame = 0;

  const positions = new Map(); // section element -> its position
  const onScreen = new Set(); // positions on screen now
  let visible = false;
  let lastActivity = 0; // performance.now() of the last activity
  let clock = 0; // the instant up to which time has been accrued

  let dwell = new Map(); // position -> ms not yet sent (fractions of a ms stay for later)
  let seen = new Set(); // positions seen since the last heartbeat
  let seq = 0;
  const outbox = []; // heartbeats not yet answered, oldest first
  let inFlight = null;

  const now = () => performance.now();

  // Credit the time since `clock` to the sections on screen, then move `clock` to `at`.
  function accrue(at) {
    if (at <= clock) return;
    if (visible && onScreen.size > 0) {
      const active = Math.min(at, lastActivity + idleMs) - clock;
      for (const pos of onScreen) {
        seen.add(pos);
        if (active > 0) dwell.set(pos, (dwell.get(pos) || 0) + active);
      }
    }
    clock = at;
  }

  function markSeen() {
    if (visible) for (const pos of onScreen) seen.add(pos);
  }

  function isOnScreen(rect, width, height) {
    const h = Math.min(rect.bottom, height) - Math.max(rect.top, 0);
    const w = Math.min(rect.right, width) - Math.max(rect.left, 0);
    if (h <= 0 || w <= 0 || rect.width <= 0 || rect.height <= 0) return false;
    return (h * w) / (rect.width * rect.height) >= 0.5 || h >= 0.5 * height;
  }

  // Re-read every section's place; the state changes at `at` (time before it is credited first).
  function measure(at) {
    frame = 0;
    if (stopped) return;
    accrue(at);
    const root = document.documentElement;
    const width = root.clientWidth || window.innerWidth;
    const height = root.clientHeight || window.innerHeight;
    for (const [element, pos] of positions) {
      if (isOnScreen(element.getBoundingClientRect(), width, height)) onScreen.add(pos);
      else onScreen.delete(pos);
    }
    markSeen();
  }

  function scheduleMeasure() {
    if (!frame && !stopped) frame = window.requestAnimationFrame(() => measure(now()));
  }

  function onIntersect(entries) {
    // The observer reports late; its entries say when the change happened.
    const at = Math.min(...entries.map((entry) => entry.time));
    measure(Number.isFinite(at) && at > 0 ? Math.min(at, now()) : now());
  }

  function onActivity(event) {
    const at = now();
    if (at > lastActivity + idleMs) accrue(at); // the idle stretch ends here, not earlier
    lastActivity = at;
    if (event.type === 'scroll') scheduleMeasure();
  }

  function onVisibility() {
    const at = now();
    accrue(at);
    const was = visible;
    visible = document.visibilityState === 'visible';
    if (visible && !was) {
      lastActivity = at;
      measure(at);
    } else if (!visible && was) {
      enqueue();
      flush();
    }
  }

  function onPageHide() {
    accrue(now());
    visible = false;
    enqueue();
    for (const item of outbox.splice(0)) beacon(body(item)); // a resent seq counts once
  }

  function onPageShow(event) {
    if (!event.persisted || stopped) return; // back from the back/forward cache
    const at = now();
    clock = at;
    lastActivity = at;
    visible = document.visibilityState === 'visible';
    measure(at);
  }

  // Move what accrued into the newest heartbeat not yet tried, or into a new one.
  function enqueue() {
    const whole = {};
    let any = false;
    for (const [pos, ms] of dwell) {
      const ms0 = Math.floor(ms);
      if (ms0 > 0) {
        whole[pos] = ms0;
        dwell.set(pos, ms - ms0);
        any = true;
      }
    }
    if (!any && seen.size === 0) return;
    let item = outbox[outbox.length - 1];
    if (!item || item.body) {
      seq += 1;
      item = { seq, dwell: {}, seen: new Set(), body: '' };
      outbox.push(item);
    }
    for (const pos of Object.keys(whole)) item.dwell[pos] = (item.dwell[pos] || 0) + whole[pos];
    for (const pos of seen) item.seen.add(pos);
    seen = new Set();
    dwell = new Map([...dwell].filter(([, ms]) => ms > 0));
  }

  // Once tried, a heartbeat's body is fixed: a retry sends the same seq with the same content.
  function body(item) {
    if (!item.body) {
      const list = [...item.seen].sort((a, b) => a - b);
      item.body = JSON.stringify({ visit, secret, seq: item.seq, dwell: item.dwell, seen: list });
    }
    return item.body;
  }

  function post(payload) {
    return window.fetch(`${BASE}/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: payload,
      credentials: 'same-origin',
      cache: 'no-store',
      keepalive: true,
    });
  }

  function beacon(payload) {
    try {
      const blob = new Blob([payload], { type: 'application/json' });
      if (navigator.sendBeacon && navigator.sendBeacon(`${BASE}/events`, blob)) return;
    } catch (error) {
      // fall through to fetch
    }
    post(payload).catch(() => {});
  }

  async function flush() {
    if (inFlight || stopped || outbox.length === 0) return;
    const item = outbox[0];
    inFlight = item;
    let status = 0;
    try {
      status = (await post(body(item))).status;
    } catch (error) {
      status = 0; // no answer: the same heartbeat goes again at the next beat
    }
    inFlight = null;
    if (FINAL.has(status)) {
      stop();
      return;
    }
    const done = (status >= 200 && status < 300) || status === 400 || status === 413;
    if (!done) return; // network error, 5xx, 429: retried at the next beat
    const index = outbox.indexOf(item);
    if (index >= 0) outbox.splice(index, 1);
    flush();
  }

  function tick() {
    accrue(now());
    enqueue();
    flush();
  }

  function stop() {
    stopped = true;
    window.clearInterval(timer);
    if (observer) observer.disconnect();
    if (frame) window.cancelAnimationFrame(frame);
    for (const type of ACTIVITY) window.removeEventListener(type, onActivity, LISTEN);
    window.removeEventListener('resize', scheduleMeasure);
    document.removeEventListener('visibilitychange', onVisibility);
    window.removeEventListener('pagehide', onPageHide);
    window.removeEventListener('pageshow', onPageShow);
    outbox.length = 0;
  }

  function begin() {
    const at = now();
    clock = at;
    lastActivity = at;
    visible = document.visibilityState === 'visible';
    for (const element of document.querySelectorAll('section[data-section]')) {
      const pos = Number(element.getAttribute('data-section'));
      if (Number.isInteger(pos) && pos >= 0) positions.set(element, pos);
    }
    if (typeof window.IntersectionObserver === 'function') {
      observer = new IntersectionObserver(onIntersect, { threshold: THRESHOLDS });
      for (const element of positions.keys()) observer.observe(element);
    }
    for (const type of ACTIVITY) window.addEventListener(type, onActivity, LISTEN);
    window.addEventListener('resize', scheduleMeasure);
    document.addEventListener('visibilitychange', onVisibility);
    window.addEventListener('pagehide', onPageHide);
    window.addEventListener('pageshow', onPageShow);
    measure(at);
    timer = window.setInterval(tick, heartbeatMs);
  }

  async function start() {
    let data;
    try {
      const response = await window.fetch(`${BASE}/visits`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: '{}',
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (response.status !== 201) return; // 204: a link preview; anything else: stay silent
      data = await response.json();
    } catch (error) {
      return;
    }
    if (!data || !Number.isInteger(data.visit) || typeof data.secret !== 'string') return;
    visit = data.visit;
    secret = data.secret;
    if (Number.isFinite(data.heartbeat_ms) && data.heartbeat_ms > 0) {
      heartbeatMs = Math.max(250, data.heartbeat_ms);
    }
    if (Number.isFinite(data.idle_ms) && data.idle_ms > 0) idleMs = data.idle_ms;
    begin();
  }

  // A tab opened in the background (or prerendered) is not a view until it is shown.
  if (document.visibilityState === 'visible') {
    start();
  } else {
    const waitForShow = () => {
      if (document.visibilityState !== 'visible') return;
      document.removeEventListener('visibilitychange', waitForShow);
      start();
    };
    document.addEventListener('visibilitychange', waitForShow);
  }
})();
