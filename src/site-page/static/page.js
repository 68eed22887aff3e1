// The relay page's live part: the copy button, and the counters and chart kept current from stats.json
// (src/site-page/live.ts) without a reload. uPlot is loaded before this module as the global `uPlot`.

const POLL_MS = 5000;
const CHART_HEIGHT = 220;
/** Minutes the chart spans at least. */
const SHOWN_AT_LEAST = 60;

const byId = (id) => document.getElementById(id);

/** The same words as uptimeInWords in src/site-page/render.ts. */
function uptimeInWords(seconds) {
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  if (hours === 0) return `${minutes} min`;
  return hours < 48 ? `${hours} h ${minutes % 60} min` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

function setUpCopy() {
  const button = byId('copy');
  const status = byId('copy-status');
  button.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      status.textContent = 'Copied.';
    } catch {
      // No clipboard (a page served over plain http): select the address so that Ctrl+C copies it.
      const range = document.createRange();
      range.selectNodeContents(byId('address'));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      status.textContent = 'Selected: press Ctrl+C (⌘C on a Mac) to copy.';
    }
  });
}

const cssColour = (name) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();

function chartOptions(width) {
  const axis = { stroke: cssColour('--muted'), grid: { stroke: cssColour('--chart-grid') }, ticks: { stroke: cssColour('--chart-grid') } };
  // Each y axis in the colour of its line: events on the left, connections on the right.
  const events = { ...axis, scale: 'events', stroke: cssColour('--chart-events') };
  const connections = { ...axis, scale: 'connections', side: 1, stroke: cssColour('--chart-connections'), grid: { show: false } };
  const fromZero = (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.1))];
  // Dots while there are few minutes (a lone minute draws no line), a plain line once there are many.
  const points = { show: (u, series) => u.data[series].filter((value) => value !== null).length < 180, size: 6 };
  return {
    width,
    height: CHART_HEIGHT,
    scales: { x: { time: true }, events: { range: fromZero }, connections: { range: fromZero } },
    series: [
      { label: 'Time' },
      {
        label: 'Events per minute',
        scale: 'events',
        stroke: cssColour('--chart-events'),
        fill: cssColour('--chart-events-fill'),
        width: 2,
        points,
      },
      { label: 'Connections', scale: 'connections', stroke: cssColour('--chart-connections'), width: 2, points },
    ],
    // Time labels at least 80 px apart: "10:45am" needs about 60.
    axes: [{ ...axis, space: 80 }, events, connections],
  };
}

/** uPlot's columns; a relay up for less than an hour gets empty minutes before its start, so the axis shows an hour. */
function chartData(history) {
  const missing = Math.max(0, SHOWN_AT_LEAST - history.events.length);
  const times = Array.from({ length: missing + history.events.length }, (_, i) => history.start + (i - missing) * history.step);
  const padded = (values) => [...Array(missing).fill(null), ...values];
  return [times, padded(history.events), padded(history.connections)];
}

let chart;
let data;

function drawChart() {
  const container = byId('chart');
  chart?.destroy();
  chart = new uPlot(chartOptions(container.clientWidth), data, container);
}

function show(stats) {
  byId('events-stored').textContent = String(stats.events_stored);
  byId('events-today').textContent = String(stats.events_today);
  byId('connections').textContent = String(stats.connections);
  byId('subscriptions').textContent = String(stats.subscriptions);
  byId('uptime').textContent = uptimeInWords(stats.uptime_seconds);
  data = chartData(stats.history);
  if (chart) chart.setData(data);
  else drawChart();
  // What the chart shows, for readers of the DOM (and the page's browser test).
  const container = byId('chart');
  container.dataset.minutes = String(stats.history.events.length);
  container.dataset.events = String(stats.history.events.reduce((sum, n) => sum + n, 0));
}

async function poll() {
  try {
    const response = await fetch('stats.json', { cache: 'no-store' });
    if (response.ok) show(await response.json());
  } catch {
    // The relay restarting or the network gone: the next poll tries again.
  }
  setTimeout(poll, document.hidden ? POLL_MS * 6 : POLL_MS);
}

setUpCopy();
poll();
new ResizeObserver(() => chart?.setSize({ width: byId('chart').clientWidth, height: CHART_HEIGHT })).observe(byId('chart'));
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => data && drawChart());
