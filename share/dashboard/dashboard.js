// casino dashboard: every second it reads /materialized, /history, /healthz
// and /metrics, and draws what the server measured. No number here is timed
// by this tab's clock, so a throttled tab or a virtual-time browser shows
// what the server saw.
"use strict";

const POLL_MS = 1000;
const STOPPED_AFTER_S = 5;   // this many empty seconds at the history's end: stopped
const RATE_WINDOW_S = 10;    // the rates' window: the status line's, and the stages' own (lib/health)
const STAGES = ["casino-fx", "casino-player", "casino-describe", "casino-tee-agg"];
// What a stage holding events waits for: the one service each needs.
const NEEDS = { "casino-fx": "the rate API", "casino-player": "the database" };
const W = 640, H = 200, PAD = { left: 56, right: 14, top: 16, bottom: 36 };

const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
const whole = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });
const eur = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function setStatus(state, text) {
	const s = $("status");
	s.dataset.state = state;
	s.textContent = text;
	document.body.classList.toggle("stale", state === "unreachable");
}

// ---- totals and players ----

function showPlayer(key, snap, unit) {
	const p = snap["top_player_" + key] || { id: 0, count: 0 };
	const none = !p.count;
	$(key + "_id").textContent = none ? "none yet" : "#" + p.id;
	$(key + "_count").textContent = none ? "–" :
		unit === "EUR" ? eur.format(p.count / 100) + " EUR" :
		fmt.format(p.count) + " " + unit + (p.count === 1 ? "" : "s");
}

function showSnapshot(snap) {
	for (const k of ["events_total", "events_per_minute", "events_per_second_moving_average"])
		$(k).textContent = typeof snap[k] === "number" ? fmt.format(snap[k]) : "–";
	showPlayer("bets", snap, "bet");
	showPlayer("wins", snap, "winning bet");
	showPlayer("deposits", snap, "EUR");
}

// ---- charts: own SVG ----

function el(svg, name, attrs, text) {
	const e = document.createElementNS(svg.namespaceURI, name);
	for (const [k, v] of Object.entries(attrs))
		e.setAttribute(k, v);
	if (text !== undefined)
		e.textContent = text;
	svg.append(e);
	return e;
}

// A round gridline step giving about n lines up to max.
function niceStep(max, n) {
	const raw = max / n, p = 10 ** Math.floor(Math.log10(raw));
	for (const m of [1, 2, 2.5, 5, 10])
		if (m * p >= raw)
			return m * p;
	return 10 * p;
}

// The top of the scale. A few values far above the usual level (a catch-up
// spike after an outage) are clipped rather than allowed to flatten the
// rest: values over 4 times the median of the non-zero ones are left out of
// the scale.
function scaleFor(counts) {
	const nonzero = counts.filter((c) => c > 0).sort((a, b) => a - b);
	const median = nonzero.length ? nonzero[Math.floor(nonzero.length / 2)] : 0;
	const usual = nonzero.filter((c) => c <= 4 * median);
	const max = usual.length ? usual[usual.length - 1] : 0;
	const want = Math.max(1, usual.length < nonzero.length ? max * 1.1 : max);
	const step = niceStep(want, 4);
	return { top: Math.ceil(want / step) * step, step };
}

const utcTime = (ms) => new Date(ms).toISOString().slice(11, 16);

// counts: oldest first, one per bucket of bucketMs; endMs: the newest
// bucket's start. Time ticks every tickMs, on round times.
function drawChart(svg, counts, endMs, bucketMs, tickMs, unit) {
	const n = counts.length, pw = W - PAD.left - PAD.right, ph = H - PAD.top - PAD.bottom;
	const bottom = PAD.top + ph, startMs = endMs - (n - 1) * bucketMs;
	const { top, step } = scaleFor(counts);
	const x = (ms) => PAD.left + (ms - startMs) / ((n - 1) * bucketMs) * pw;
	const y = (v) => bottom - Math.min(v, top) / top * ph;
	svg.replaceChildren();
	svg.dataset.top = top;
	svg.dataset.plotTop = PAD.top;
	svg.dataset.plotBottom = bottom;
	for (let v = 0; v <= top + step / 1e6; v += step) {
		el(svg, "line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) });
		el(svg, "text", { class: "tick tick-y", x: PAD.left - 6, y: y(v) + 4 }, whole.format(v));
	}
	for (let t = Math.ceil(startMs / tickMs) * tickMs; t <= endMs; t += tickMs) {
		el(svg, "line", { class: "grid", x1: x(t), x2: x(t), y1: PAD.top, y2: bottom });
		const edge = x(t) > W - PAD.right - 16 ? " edge-right" : x(t) < PAD.left + 16 ? " edge-left" : "";
		el(svg, "text", { class: "tick tick-x" + edge, x: x(t), y: bottom + 14 }, utcTime(t));
	}
	el(svg, "line", { class: "axis", x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: bottom });
	el(svg, "line", { class: "axis", x1: PAD.left, x2: W - PAD.right, y1: bottom, y2: bottom });
	el(svg, "text", { class: "axis-title", x: 12, y: PAD.top + ph / 2,
		transform: `rotate(-90 12 ${PAD.top + ph / 2})` }, unit);
	el(svg, "text", { class: "axis-title", x: PAD.left + pw / 2, y: H - 4 }, "time (UTC)");
	el(svg, "polyline", { class: "line", points: counts.map((c, i) =>
		x(startMs + i * bucketMs).toFixed(1) + "," + y(c).toFixed(1)).join(" ") });
	// Clipped values: a mark at the top, the largest one labelled.
	let peak = -1;
	counts.forEach((c, i) => {
		if (c <= top)
			return;
		const px = x(startMs + i * bucketMs);
		el(svg, "path", { class: "clip", d: `M${px - 4},${PAD.top + 2} L${px + 4},${PAD.top + 2} L${px},${PAD.top - 5} Z` });
		if (peak < 0 || c > counts[peak])
			peak = i;
	});
	if (peak >= 0) {
		const px = x(startMs + peak * bucketMs), right = px > W / 2;
		el(svg, "text", { class: "clip-label", x: right ? px - 8 : px + 8, y: PAD.top + 10,
			"text-anchor": right ? "end" : "start" }, "▲ " + whole.format(counts[peak]) + " (off the scale)");
	}
	return { top, peak: peak >= 0 ? counts[peak] : null };
}

function showHistory(h) {
	const sec = h.per_second, min = h.per_minute;
	const endSec = Date.parse(sec.end), endMin = Date.parse(min.end);
	const s = drawChart($("chart_second"), sec.counts, endSec, 1000, 60000, "events / s");
	drawChart($("chart_minute"), min.counts, endMin, 60000, 600000, "events / min");
	$("chart_second_note").textContent = "The last point is the current second so far." + (s.peak === null ? "" :
		" A peak of " + whole.format(s.peak) + " events/s is off the scale (marked ▲) so that the usual rate stays readable.");
	$("updated").textContent = sec.end.replace("T", " ").replace("Z", "");
	// The newest second is still filling: look at the ones before it.
	const done = sec.counts.slice(0, -1);
	let quiet = 0;
	while (quiet < done.length && done[done.length - 1 - quiet] === 0)
		quiet++;
	const recent = done.slice(-RATE_WINDOW_S);
	return { quiet, rate: recent.reduce((a, b) => a + b, 0) / recent.length,
		any: sec.counts.some((c) => c > 0) || min.counts.some((c) => c > 0) };
}

// ---- the pipeline ----

// The stage series of a /metrics text: {stage: {in, out, rejected, held, pending, oldest, ts}}.
function parseStages(text) {
	const stages = {};
	const keys = { held_events: "held", pending_events: "pending", oldest_held_seconds: "oldest",
		updated_timestamp_seconds: "ts", out_per_second: "rate" };
	const re = /^casino_stage_(lines_total|held_events|pending_events|oldest_held_seconds|updated_timestamp_seconds|out_per_second)\{stage="([^"]*)"(?:,outcome="([a-z]+)")?\} (\S+)$/gm;
	for (let m; (m = re.exec(text)) !== null; ) {
		const s = stages[m[2]] || (stages[m[2]] = { in: 0, out: 0, rejected: 0, held: 0, pending: 0, oldest: 0, ts: 0, rate: null });
		s[m[1] === "lines_total" ? m[3] : keys[m[1]]] = Number(m[4]);
	}
	return stages;
}

function item(list, cls, name, text, state) {
	const li = document.createElement("li");
	li.className = cls;
	if (name)
		li.dataset.stage = name;
	if (state)
		li.dataset.state = state;
	if (name) {
		const b = document.createElement("b");
		b.textContent = name.replace(/^casino-/, "");
		li.append(b);
	}
	const span = document.createElement("span");
	span.textContent = text;
	li.append(span);
	list.append(li);
	return li;
}

// The stages /metrics gave last, for the status line.
let lastStages = {};

// Lines waiting in the pipe before stage name: what the stage before it
// wrote and it has not read; null when that is not known.
function waitingBefore(stages, name) {
	const i = STAGES.indexOf(name);
	const prev = i > 0 ? stages[STAGES[i - 1]] : undefined, s = stages[name];
	return prev && s ? Math.max(0, prev.out - s.in) : null;
}

function showStages(stages) {
	lastStages = stages;
	const names = Object.keys(stages);
	const list = $("stages");
	list.replaceChildren();
	$("stages_note").textContent = names.length ?
		"Rate: lines out per second over the last " + RATE_WINDOW_S + " s. Pending: read, not yet written. Between two stages: lines one wrote that the next has not read yet." :
		"No stage reports its health here: the pipeline runs elsewhere, or not at all.";
	if (!names.length)
		return;
	let prev, first = true;
	for (const name of STAGES.concat(names.filter((n) => !STAGES.includes(n)).sort())) {
		const s = stages[name];
		if (!first) {
			const pipe = item(list, "pipe", null, prev && s ? "→ " + whole.format(Math.max(0, prev.out - s.in)) + " waiting" : "→");
			if (prev && s)
				pipe.dataset.waiting = Math.max(0, prev.out - s.in);
		}
		first = false;
		prev = s;
		if (!s) {
			item(list, "stage", name, "not running", "missing");
			continue;
		}
		// The stage's own rate (lib/health): true whatever this tab's clock does.
		const parts = [(s.rate === null ? "measuring…" : fmt.format(s.rate) + " events/s"),
			whole.format(s.pending) + " pending"];
		if (s.held > 0)
			parts.push("holding " + whole.format(s.held) + " for " + whole.format(s.oldest) + " s");
		item(list, "stage", name, parts.join(" · "), s.held > 0 ? "held" : "ok");
	}
}

// ---- the status line, from /healthz ----

const plural = (n, one) => whole.format(n) + " " + one + (n === 1 ? "" : "s");

function showHealth(health, flow) {
	if (health.status === "held") {
		const waiting = waitingBefore(lastStages, health.stage);
		setStatus("held", health.stage + " holds " + plural(health.held, "event") + ", the oldest for " +
			whole.format(health.held_ms / 1000) + " s" +
			(waiting === null ? "" : ", and " + whole.format(waiting) + " more wait in the pipe before it") +
			": it waits for " + (NEEDS[health.stage] || "a service it needs") + ".");
	}
	else if (health.status === "stale")
		setStatus("stale", "The snapshot is stale: last written " + whole.format(health.age_ms / 1000) +
			" s ago. Is casino-tee-agg running?");
	else if (health.error)
		setStatus("waiting", "The server is up, but no snapshot yet: is the pipeline running?");
	else if (flow && flow.any && flow.quiet >= STOPPED_AFTER_S)
		setStatus("stopped", "Stream stopped: no new events for " +
			(flow.quiet >= 299 ? "over 5 minutes" : flow.quiet + " s") + " (by the aggregator's clock).");
	else if (flow && !flow.any)
		setStatus("live", "Up: waiting for the first event.");
	else
		setStatus("live", "Live: " + (flow ? fmt.format(flow.rate) + " events/s over the last " + RATE_WINDOW_S + " s." :
			"events are arriving."));
}

// ---- polling ----

async function poll() {
	const started = performance.now();
	const [snap, hist, health, metrics] = await Promise.allSettled(
		["/materialized", "/history", "/healthz", "/metrics"].map((path) => fetch(path, { cache: "no-cache" })));
	if ([snap, hist, health, metrics].every((r) => r.status === "rejected")) {
		setStatus("unreachable", "Server unreachable: showing the last numbers received.");
	} else {
		try {
			let flow = null;
			if (snap.status === "fulfilled" && snap.value.ok)
				showSnapshot(await snap.value.json());
			if (hist.status === "fulfilled" && hist.value.ok)
				flow = showHistory(await hist.value.json());
			if (metrics.status === "fulfilled" && metrics.value.ok)
				showStages(parseStages(await metrics.value.text()));
			if (health.status === "fulfilled")
				showHealth(await health.value.json(), flow);
			else
				setStatus("unreachable", "Server unreachable: showing the last numbers received.");
		} catch (e) {
			setStatus("unreachable", "The server's answer could not be read: " + e.message);
		}
	}
	setTimeout(poll, Math.max(0, POLL_MS - (performance.now() - started)));
}

poll();
