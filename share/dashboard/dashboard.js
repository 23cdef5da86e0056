// casino dashboard: polls /materialized every second and draws what it gets.
"use strict";

const POLL_MS = 1000;
const WINDOW_S = 300;        // the chart's width in seconds
const STOPPED_AFTER_S = 5;   // no new event for this long: the stream stopped
const rates = [];            // {t: ms, eps: events/s between two polls}
let last = null;             // {t, total} of the previous good poll
let lastChange = Date.now(); // when events_total last moved

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
	setTimeout(poll, Math.max(0, POLL_MS - (Date.now() - now)));
}

$("window").textContent = WINDOW_S / 60;
poll();
