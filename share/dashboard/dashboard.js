// casino dashboard: polls /materialized every second and draws what it gets.
"use strict";

const POLL_MS = 1000;
const WINDOW_S = 300;        // the chart's width in seconds
const STOPPED_AFTER_S = 5;   // no new event for this long: the stream stopped
const STAGES = ["casino-fx", "casino-player", "casino-describe", "casino-tee-agg"];
const rates = [];            // {t: ms, eps: events/s between two polls}
let last = null;             // {t, total} of the previous good poll
let lastChange = Date.now(); // when events_total last moved
let lastStages = null;       // {t, out: {stage: lines out}} of the previous /metrics

const $ = (id) => document.getElementById(id);
const fmt = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });
const eur = new Intl.NumberFormat("en", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function setStatus(state, text) {
	const s = $("status");
	s.dataset.state = state;
	s.textContent = text;
	document.body.classList.toggle("stale", state === "unreachable");
}

function showPlayer(key, snap, money) {
	const p = snap["top_player_" + key] || { id: 0, count: 0 };
	const none = !p.count;
	$(key + "_id").textContent = none ? "none yet" : "#" + p.id;
	$(key + "_count").textContent = none ? "–" : money ? eur.format(p.count / 100) + " EUR" : fmt.format(p.count);
}

function drawChart(now) {
	while (rates.length && rates[0].t < now - WINDOW_S * 1000)
		rates.shift();
	const max = Math.max(1, ...rates.map((r) => r.eps));
	$("chart_max").textContent = fmt.format(max);
	$("line").setAttribute("points", rates.map((r) =>
		((r.t - (now - WINDOW_S * 1000)) / (WINDOW_S * 1000) * 600).toFixed(1) + "," +
		(160 - r.eps / max * 150).toFixed(1)).join(" "));
}

function show(snap, now) {
	for (const k of ["events_total", "events_per_minute", "events_per_second_moving_average"])
		$(k).textContent = typeof snap[k] === "number" ? fmt.format(snap[k]) : "–";
	showPlayer("bets", snap, false);
	showPlayer("wins", snap, false);
	showPlayer("deposits", snap, true);
	const total = snap.events_total || 0;
	if (last && total >= last.total && now > last.t)
		rates.push({ t: now, eps: (total - last.total) * 1000 / (now - last.t) });
	if (!last || total !== last.total)
		lastChange = now;
	last = { t: now, total: total };
	drawChart(now);
	$("updated").textContent = new Date(now).toLocaleTimeString();
	const quiet = (now - lastChange) / 1000;
	if (quiet >= STOPPED_AFTER_S)
		setStatus("stopped", "Stream stopped: no new events for " + Math.round(quiet) + " s.");
	else
		setStatus("live", "Live: events are arriving.");
}

// The stage series of a /metrics text: {stage: {in, out, rejected, held, oldest}}.
function parseStages(text) {
	const stages = {};
	const re = /^casino_stage_(lines_total|held_events|oldest_held_seconds)\{stage="([^"]*)"(?:,outcome="([a-z]+)")?\} (\S+)$/gm;
	for (let m; (m = re.exec(text)) !== null; ) {
		const s = stages[m[2]] || (stages[m[2]] = { in: 0, out: 0, rejected: 0, held: 0, oldest: 0 });
		const key = m[1] === "lines_total" ? m[3] : m[1] === "held_events" ? "held" : "oldest";
		s[key] = Number(m[4]);
	}
	return stages;
}

// One item per stage: its rate out, what it holds, or that it is missing.
function showStages(stages, now) {
	const names = Object.keys(stages);
	const list = $("stages");
	list.replaceChildren();
	$("stages_note").textContent = names.length ? "" :
		"No stage reports its health here: the pipeline runs elsewhere, or not at all.";
	if (!names.length)
		return;
	for (const name of STAGES.concat(names.filter((n) => !STAGES.includes(n)).sort())) {
		const s = stages[name];
		const li = document.createElement("li");
		li.dataset.stage = name;
		let text;
		if (!s) {
			li.dataset.state = "missing";
			text = "missing";
		} else {
			const before = lastStages ? lastStages.out[name] : undefined;
			const eps = before !== undefined && now > lastStages.t ? (s.out - before) * 1000 / (now - lastStages.t) : null;
			li.dataset.state = s.held > 0 ? "held" : "ok";
			text = (eps === null ? "–" : fmt.format(Math.max(0, eps))) + " events/s" +
				(s.held > 0 ? " · holding " + fmt.format(s.held) + " for " + Math.round(s.oldest) + " s" : "");
		}
		const b = document.createElement("b");
		b.textContent = name.replace(/^casino-/, "");
		const span = document.createElement("span");
		span.textContent = text;
		li.append(b, span);
		list.append(li);
	}
	lastStages = { t: now, out: Object.fromEntries(names.map((n) => [n, stages[n].out])) };
}

async function pollStages(now) {
	try {
		const res = await fetch("/metrics", { cache: "no-cache" });
		showStages(res.ok ? parseStages(await res.text()) : {}, now);
	} catch (e) {
		// the snapshot poll says the server is unreachable
	}
}

async function poll() {
	const now = Date.now();
	try {
		const res = await fetch("/materialized", { cache: "no-cache" });
		if (res.status === 503)
			setStatus("waiting", "The server is up, but no snapshot yet: is the pipeline running?");
		else if (!res.ok)
			setStatus("unreachable", "The server answered " + res.status + ".");
		else
			show(await res.json(), now);
	} catch (e) {
		setStatus("unreachable", "Server unreachable: showing the last numbers received.");
	}
	await pollStages(now);
	setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - now)));
}

$("window").textContent = WINDOW_S / 60;
poll();
