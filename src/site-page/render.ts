/**
 * The relay's home page (GET / from a browser): who runs it, who may post and read, what is kept, live
 * numbers and a chart, and how to add the relay in common apps. Plain HTML; the module script
 * (static/page.js) keeps the numbers and the chart current from GET /stats.json.
 */
import type { ClusterInformation } from '../nips/nip11.js';
import { npubEncode } from 'nostr-tools/nip19';
import type { Config } from '../config/types.js';
import type { Fee } from '../nips/nip11-fees.js';
import { SOFTWARE_URL, VERSION } from '../version.js';
import { areaSvg, extentInWords } from './area-svg.js';
import type { PageAssets } from './assets.js';
import { kindsInWords } from './kind-names.js';
import type { LiveSnapshot } from './live.js';
import { durationInWords, policyInWords, type PolicyWords } from './policy-words.js';

export interface PageInput {
  /** The config the relay enforces (NIP-86 changes applied). */
  readonly config: Config;
  /** The address clients connect to. */
  readonly url: string;
  readonly live: LiveSnapshot;
  /** The WebSocket server that runs. */
  readonly serverName: string;
  /** supported_nips. */
  readonly nips: readonly number[];
  readonly assets: PageAssets;
  /** Cluster mode: this node and how the others are. */
  readonly cluster?: ClusterInformation | undefined;
}

/** "This is node a of 3: b is up, c does not answer." */
function clusterLine(cluster: ClusterInformation | undefined): string {
  if (cluster === undefined) return '';
  const others = cluster.peers.map(({ node, healthy, lag }) =>
    healthy ? `${escapeHtml(node)} is up${lag ? ` (${lag} behind)` : ''}` : `${escapeHtml(node)} does not answer`,
  );
  const of = others.length === 0 ? ', the only one answering so far' : ` of ${others.length + 1}: ${others.join(', ')}`;
  return `\n<p id="cluster">This is node ${escapeHtml(cluster.node)}${of}.</p>`;
}

export const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Escapes `text` and turns the http(s) URLs in it into links. */
function withLinks(text: string): string {
  return text
    .split(/(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)])/)
    .map((part, i) => (i % 2 === 1 ? `<a href="${escapeHtml(part)}">${escapeHtml(part)}</a>` : escapeHtml(part)))
    .join('');
}

/** "12 min", "3 h 5 min", "2 d 4 h" (static/page.js says it the same way). */
export function uptimeInWords(seconds: number): string {
  const minutes = Math.floor(seconds / 60);
  const hours = Math.floor(minutes / 60);
  if (hours === 0) return `${minutes} min`;
  return hours < 48 ? `${hours} h ${minutes % 60} min` : `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

const list = (items: readonly string[]): string => `<ul>${items.map((item) => `<li>${withLinks(item)}</li>`).join('')}</ul>`;

/** How to add a relay in the apps people use most: [app, where it runs, how]. */
const CLIENTS: ReadonlyArray<readonly [string, string, string]> = [
  ['Damus', 'iPhone, iPad, Mac', 'open your profile, then Relays; paste the address under “Add relay” and tap Add.'],
  ['Amethyst', 'Android', 'open the menu, then Relays; paste the address in “Add relay”, tap Add, then Save.'],
  ['Primal', 'iPhone, Android, web', 'Settings, then Network; paste the address under “Connect to relay” and add it.'],
  ['Coracle', 'web', 'open Relays from the menu, paste the address in the search box and choose Join.'],
  ['Jumble', 'web', 'Settings, then Relays; paste the address and add it, or paste it in the search box to browse this relay.'],
];

export function renderPage(input: PageInput): string {
  const { config, url, assets } = input;
  const { info } = config;
  const name = escapeHtml(info.name);
  const words = policyInWords(config);
  const banner = info.banner === '' ? '' : `<img class="banner" src="${escapeHtml(info.banner)}" alt="">`;
  const icon = info.icon === '' ? '' : `<img class="icon" src="${escapeHtml(info.icon)}" alt="" width="64" height="64">`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${name} · Nostr relay</title>
<meta name="description" content="${escapeHtml(info.description)}">
<link rel="icon" href="${assets.favicon.path}" type="image/svg+xml">
<link rel="stylesheet" href="${assets.chartStyle.path}">
<link rel="stylesheet" href="${assets.style.path}">
<script src="${assets.chart.path}" defer></script>
<script type="module" src="${assets.script.path}"></script>
</head>
<body>
<header>${banner}<div class="identity">${icon}<div><h1>${name}</h1><p class="description">${withLinks(info.description)}</p></div></div></header>
<main>
<section aria-labelledby="address-heading">
<h2 id="address-heading">Address</h2>
<p>This is a <a href="https://nostr.com">Nostr</a> relay. Add this address to your Nostr app:</p>
<div class="copy"><code id="address">${escapeHtml(url)}</code><button type="button" id="copy" data-copy="${escapeHtml(url)}">Copy</button></div>
<p id="copy-status" class="status" role="status"></p>
</section>
${policySections(words)}
${liveSection(input.live)}
<section aria-labelledby="apps-heading">
<h2 id="apps-heading">Add it to your app</h2>
<ul class="clients">${CLIENTS.map(([app, where, how]) => `<li><strong>${app}</strong> (${where}): ${how}</li>`).join('')}</ul>
</section>
${operatorSection(config)}
<section aria-labelledby="nips-heading">
<h2 id="nips-heading">Supported NIPs</h2>
<p class="nips">${input.nips.map(nipLink).join(', ')}</p>
</section>
</main>
<footer><p>Runs on <span id="server">commons ${escapeHtml(VERSION)}, ${escapeHtml(input.serverName)}, Node ${escapeHtml(process.versions.node)}</span> (<a href="${SOFTWARE_URL}">the software</a>).</p>${clusterLine(input.cluster)}</footer>
</body>
</html>
`;
}

function nipLink(nip: number): string {
  const padded = String(nip).padStart(2, '0');
  return `<a href="https://github.com/nostr-protocol/nips/blob/master/${padded}.md">NIP-${padded}</a>`;
}

function policySections(words: PolicyWords): string {
  const area =
    words.area === undefined
      ? ''
      : `<figure class="area-figure">${areaSvg(words.area, 'area-title')}<figcaption>${escapeHtml(extentInWords(words.area))}.</figcaption></figure>`;
  return `<section aria-labelledby="posting-heading" id="posting">
<h2 id="posting-heading">Who may post</h2>
${list(words.posting)}
${area}
</section>
<section aria-labelledby="reading-heading" id="reading">
<h2 id="reading-heading">Who may read</h2>
${list(words.reading)}
</section>
<section aria-labelledby="keeping-heading" id="keeping">
<h2 id="keeping-heading">What is kept, and for how long</h2>
${list(words.keeping)}
</section>`;
}

function liveSection(live: LiveSnapshot): string {
  const row = (id: string, label: string, value: string): string => `<div><dt>${label}</dt><dd id="${id}">${value}</dd></div>`;
  return `<section aria-labelledby="live-heading" id="live">
<h2 id="live-heading">Live</h2>
<dl class="counters">
${row('events-stored', 'Events stored', String(live.events_stored))}
${row('events-today', 'Events today (UTC)', String(live.events_today))}
${row('connections', 'Open connections', String(live.connections))}
${row('subscriptions', 'Live subscriptions', String(live.subscriptions))}
${row('uptime', 'Up for', uptimeInWords(live.uptime_seconds))}
</dl>
<figure class="chart-figure">
<div id="chart" class="chart"></div>
<figcaption>Events stored per minute and open connections over the last 24 hours (since the relay started, if that is less). <noscript>The chart needs JavaScript; the numbers above are as of loading the page.</noscript></figcaption>
</figure>
</section>`;
}

function feeInWords(fee: Fee): string {
  const kinds = fee.kinds ? ` for ${kindsInWords(fee.kinds)}` : '';
  const period = fee.period ? ` every ${durationInWords(fee.period)}` : '';
  return `${fee.amount} ${fee.unit}${kinds}${period}`;
}

function operatorSection({ info }: Config): string {
  const rows: string[] = [];
  const row = (label: string, html: string): number => rows.push(`<div><dt>${label}</dt><dd>${html}</dd></div>`);
  const key = (hex: string): string => {
    const npub = npubEncode(hex);
    return `<a class="key" href="nostr:${npub}">${npub}</a>`;
  };
  if (info.pubkey !== '') row('Operator', key(info.pubkey));
  if (info.contact !== '') {
    const contact = escapeHtml(info.contact);
    row('Contact', /^(mailto|https?):/i.test(info.contact) ? `<a href="${contact}">${contact.replace(/^mailto:/i, '')}</a>` : contact);
  }
  if (info.self !== '') row('The relay’s own key', key(info.self));
  if (info.terms_of_service !== '')
    row('Terms of service', `<a href="${escapeHtml(info.terms_of_service)}">${escapeHtml(info.terms_of_service)}</a>`);
  const fees = Object.entries(info.fees).filter(([, list]) => list.length > 0);
  for (const [kind, list] of fees) row(`Fee: ${kind}`, escapeHtml(list.map(feeInWords).join('; ')));
  if (info.payments_url !== '') row('Pay at', `<a href="${escapeHtml(info.payments_url)}">${escapeHtml(info.payments_url)}</a>`);
  const body = rows.length === 0 ? '<p>The operator has not published a contact.</p>' : `<dl class="operator">${rows.join('')}</dl>`;
  return `<section aria-labelledby="operator-heading" id="operator">
<h2 id="operator-heading">Who runs it</h2>
${body}
</section>`;
}
