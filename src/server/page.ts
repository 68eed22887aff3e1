import type { Config } from '../config/types.js';
import type { CounterValues } from '../relay/counters.js';
import { VERSION } from '../version.js';

const escapeHtml = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** The page a person sees when opening the relay URL in a browser; `nips`: the supported NIPs (src/nips/registry.ts). */
export function renderPage(
  config: Config,
  publicUrl: string,
  counters: CounterValues,
  storedEvents: number,
  serverName: string,
  nips: readonly number[],
): string {
  const name = escapeHtml(config.info.name);
  const uptimeMinutes = Math.floor((Date.now() - counters.startedAt) / 60000);
  const nipLinks = nips
    .map(
      (nip) =>
        `<a href="https://github.com/nostr-protocol/nips/blob/master/${String(nip).padStart(2, '0')}.md">NIP-${String(nip).padStart(2, '0')}</a>`,
    )
    .join(', ');
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${name}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}code{background:#eee;padding:.1rem .3rem;border-radius:3px}dt{font-weight:600}</style>
</head>
<body>
<h1>${name}</h1>
<p>${escapeHtml(config.info.description)}</p>
<p>This is a <a href="https://nostr.com">Nostr</a> relay. Its address is <code>${escapeHtml(publicUrl)}</code>.</p>
<h2>Connect</h2>
<p>In your Nostr client (Damus, Amethyst, Primal, Coracle, …) open the relay settings and add <code>${escapeHtml(publicUrl)}</code>.</p>
<h2>Now</h2>
<dl>
<dt>Events stored</dt><dd id="events">${storedEvents}</dd>
<dt>Open connections</dt><dd id="connections">${counters.connections}</dd>
<dt>Live subscriptions</dt><dd id="subscriptions">${counters.subscriptions}</dd>
<dt>Up for</dt><dd id="uptime">${uptimeMinutes} minutes</dd>
<dt>Runs on</dt><dd id="server">commons ${escapeHtml(VERSION)}, ${escapeHtml(serverName)}, Node ${escapeHtml(process.versions.node)}</dd>
</dl>
<h2>Supported NIPs</h2>
<p>${nipLinks}</p>
${config.info.contact ? `<p>Contact: ${escapeHtml(config.info.contact)}</p>` : ''}
</body>
</html>
`;
}
