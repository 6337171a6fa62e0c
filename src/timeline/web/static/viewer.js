// The timeline page's script: replay knowledge in place and follow the live feed.
// The server renders every card (GET .../board); this only asks for another board, swaps
// it in and keeps the page's state in its URL, with the API's own parameters.
"use strict";
(function () {
  const form = document.getElementById("controls");
  if (!form) return;
  const slug = form.dataset.slug;
  const slider = document.getElementById("known-step");
  const knownAt = form.elements.namedItem("known_at");
  const words = document.getElementById("known-words");
  const live = document.getElementById("live");
  const boardBox = document.getElementById("board");
  let pending = null; // the board request in flight, aborted by a newer one

  function steps() {
    const board = boardBox.querySelector(".board");
    return board ? JSON.parse(board.dataset.steps || "[]") : [];
  }

  function query() {
    const params = new URLSearchParams();
    for (const [name, value] of new FormData(form)) {
      if (typeof value === "string" && value.trim() !== "") params.append(name, value.trim());
    }
    return params.toString();
  }

  // Put the form in step with a URL's parameters (on back and forward).
  function fill(search) {
    const params = new URLSearchParams(search);
    for (const element of form.elements) {
      if (element.name) element.value = params.get(element.name) || "";
    }
  }

  function syncSlider() {
    const times = steps();
    const step = Number(boardBox.querySelector(".board").dataset.step);
    slider.max = String(Math.max(times.length - 1, 0));
    slider.disabled = times.length === 0;
    slider.value = String(Math.max(step, 0));
    const text = boardBox.querySelector(".board").dataset.words;
    if (text) words.textContent = text;
  }

  async function show(push) {
    const q = query();
    if (pending) pending.abort();
    const controller = new AbortController();
    pending = controller;
    try {
      const response = await fetch(`/timelines/${encodeURIComponent(slug)}/board${q ? "?" + q : ""}`,
        { signal: controller.signal, headers: { Accept: "text/html" } });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({}));
        live.textContent = `Cannot show that: ${problem.detail || response.statusText}`;
        return;
      }
      const html = await response.text();
      if (controller !== pending) return;
      replace(html);
      const url = `/timelines/${encodeURIComponent(slug)}${q ? "?" + q : ""}`;
      if (push === "push") history.pushState(null, "", url);
      else if (push === "replace") history.replaceState(null, "", url);
      live.textContent = "";
    } catch (error) {
      if (error.name !== "AbortError") live.textContent = "The server did not answer.";
    } finally {
      if (pending === controller) pending = null;
    }
  }

  // The card the reader is looking at: the first one whose bottom is below the top of
  // the window (the sticky controls cover the top, so from their bottom edge on).
  function anchor() {
    const top = form.getBoundingClientRect().bottom;
    for (const card of boardBox.querySelectorAll("[data-assertion-id]")) {
      const box = card.getBoundingClientRect();
      if (box.bottom > top) return { id: card.id, top: box.top };
    }
    return null;
  }

  // Swap the board, keeping the reader's place: the card they were looking at stays where
  // it was on the screen (cards may be added above it), and so does the focused element.
  function replace(html) {
    const x = window.scrollX, y = window.scrollY;
    const seen = anchor();
    const focused = document.activeElement && boardBox.contains(document.activeElement)
      ? document.activeElement.closest("[id]") : null;
    const focusId = focused ? focused.id : null;
    boardBox.innerHTML = html;
    syncSlider();
    if (focusId) {
      const again = document.getElementById(focusId);
      if (again) again.focus({ preventScroll: true });
    }
    window.scrollTo(x, y);
    const same = seen && document.getElementById(seen.id);
    if (same) window.scrollBy(0, same.getBoundingClientRect().top - seen.top);
  }

  function step(index) {
    const times = steps();
    if (times.length === 0) return;
    const i = Math.min(Math.max(index, 0), times.length - 1);
    slider.value = String(i);
    knownAt.value = times[i];
    show("replace");
  }

  slider.addEventListener("input", () => step(Number(slider.value)));
  document.getElementById("known-earlier").addEventListener("click", () => step(Number(slider.value) - 1));
  document.getElementById("known-later").addEventListener("click", () => step(Number(slider.value) + 1));
  form.addEventListener("submit", (event) => { event.preventDefault(); show("push"); });
  window.addEventListener("popstate", () => { fill(location.search); show(null); });

  // New events on this timeline: fetch the board again for the same URL, at most once
  // a second, without moving the reader.
  if (window.EventSource) {
    const feed = new EventSource(`/v1/events/stream?timeline=${encodeURIComponent(slug)}`);
    let timer = null;
    const refresh = () => {
      if (timer) return;
      timer = setTimeout(() => {
        timer = null;
        show(null).then(() => { live.textContent = "Updated with new reports."; });
      }, 1000);
    };
    for (const type of ["AssertionRecorded", "AssertionRevised", "StanceRecorded",
      "AssertionRetracted", "TimelineRetitled", "SourceUpdated", "SourceWithdrawn"]) {
      feed.addEventListener(type, refresh);
    }
    feed.onmessage = refresh;
    window.addEventListener("pagehide", () => feed.close());
  }
})();
