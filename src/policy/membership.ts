/**
 * Community membership: members (an inline list plus a file re-read when it changes) may write every
 * allowed kind; anyone may write `open_kinds`; non-members may write `dm_kinds` when the event p-tags a
 * member, so outsiders can reach members. Gated on the event's pubkey, never on AUTH (Primal and others
 * do not answer AUTH when publishing).
 *
 * The policy is pure over a live `MemberSet`: a reload of the file replaces the set's contents, and the
 * policy sees it on the next event.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { kindSet, parseKindSelectors } from '../config/kinds.js';
import { boolean, parsed, string, type Nested } from '../config/rows.js';
import { checkPubkey } from '../config/values.js';
import { reject } from '../protocol/prefixes.js';
import { parsePubkeyList } from './config.js';
import { policy, type Policy } from './pipeline.js';

/** The `members:` section. */
export const MEMBERS_KEYS = {
  'members.enabled': boolean({
    default: false,
    reloadable: true,
    description:
      'Only members may write, except members.open_kinds and members.dm_kinds p-tagging a member ("blocked: only members of <info.name> can post here").',
  }),
  'members.pubkeys': parsed(parsePubkeyList, {
    default: [],
    reloadable: true,
    description: 'Member pubkeys (hex or npub).',
  }),
  'members.file': string({
    default: '',
    reloadable: true,
    description: 'File with one member pubkey (hex or npub) per line, # comments; re-read when it changes; empty = none.',
  }),
  'members.open_kinds': parsed(parseKindSelectors, {
    default: [10002, 10050],
    reloadable: true,
    description: 'Kinds anyone may write, member or not (default: relay lists).',
  }),
  'members.dm_kinds': parsed(parseKindSelectors, {
    default: [4, 1059, 14],
    reloadable: true,
    description: 'Kinds non-members may write when the event p-tags a member (DMs and gift wraps).',
  }),
  'members.exempt_from_pow': boolean({
    default: false,
    reloadable: true,
    description:
      'Members (members.pubkeys and members.file, even with members.enabled false) skip write.min_pow / min_pow_by_kind; only others pay proof of work.',
  }),
};

type Members = Nested<typeof MEMBERS_KEYS>['members'];

/** Where the member set reports bad lines and reloads (a pino logger fits). */
export interface MemberLog {
  warn(details: object, message: string): void;
  info(details: object, message: string): void;
}

/** `members.file` cross-rule: a named file must exist when the config is loaded. */
export function memberFileProblem(file: string): string | undefined {
  if (file === '') return undefined;
  if (!existsSync(file)) return `file not found: ${file}`;
  try {
    if (!statSync(file).isFile()) return `not a file: ${file}`;
  } catch (error) {
    return `cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? String(error)})`;
  }
  return undefined;
}

interface ParsedMemberFile {
  pubkeys: string[];
  /** 1-based line numbers and reasons of lines skipped. */
  invalid: { line: number; reason: string }[];
}

/** One pubkey (hex or npub) per line; `#` starts a comment; blank lines are skipped. */
function parseMemberFile(text: string): ParsedMemberFile {
  const pubkeys: string[] = [];
  const invalid: ParsedMemberFile['invalid'] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const checked = checkPubkey(line);
    if (checked.ok) pubkeys.push(checked.value as string);
    else invalid.push({ line: index + 1, reason: checked.reason });
  });
  return { pubkeys, invalid };
}

/** The current members: the inline list plus the file's, the file re-read when its mtime or size changes. */
export class MemberSet {
  private readonly inline: ReadonlySet<string>;
  private fromFile: ReadonlySet<string> = new Set();
  private stamp = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    inline: readonly string[],
    private readonly file: string,
    private readonly log?: MemberLog,
  ) {
    this.inline = new Set(inline);
    this.refresh();
  }

  has(pubkey: string): boolean {
    return this.inline.has(pubkey) || this.fromFile.has(pubkey);
  }

  get size(): number {
    let count = this.inline.size;
    for (const pubkey of this.fromFile) if (!this.inline.has(pubkey)) count++;
    return count;
  }

  /** Re-reads the file if it changed since the last read; keeps the previous list when it cannot be read. */
  refresh(): void {
    if (this.file === '') return;
    let stamp: string;
    try {
      const stat = statSync(this.file);
      stamp = `${stat.mtimeMs}:${stat.size}:${stat.ino}`;
    } catch (error) {
      if (this.stamp !== 'missing')
        this.log?.warn({ file: this.file, err: error }, 'members.file cannot be read; keeping the previous member list');
      this.stamp = 'missing';
      return;
    }
    if (stamp === this.stamp) return;
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      this.log?.warn({ file: this.file, err: error }, 'members.file cannot be read; keeping the previous member list');
      return;
    }
    this.stamp = stamp;
    const parsed = parseMemberFile(text);
    for (const { line, reason } of parsed.invalid) this.log?.warn({ file: this.file, line, reason }, 'members.file: invalid line skipped');
    this.fromFile = new Set(parsed.pubkeys);
    this.log?.info({ file: this.file, members: this.fromFile.size }, 'members.file loaded');
  }

  /** Checks the file for changes every `intervalMs` (a cheap stat) until stop(). */
  watch(intervalMs = 2000): void {
    if (this.file === '' || this.timer !== undefined) return;
    this.timer = setInterval(() => this.refresh(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

/**
 * members.enabled: a member may write; anyone may write open kinds; a non-member may write DM kinds
 * that p-tag a member. Anything else: "blocked: only members of <name> can post here — <how to join>".
 */
export function membership(config: Members, members: Pick<MemberSet, 'has'>, relayName: string, howToJoin: string): Policy {
  const open = kindSet(config.open_kinds);
  const dms = kindSet(config.dm_kinds);
  const text = `only members of ${relayName} can post here${howToJoin === '' ? '' : ` — ${howToJoin}`}`;
  return policy('members', (event) => {
    if (members.has(event.pubkey) || open.has(event.kind)) return undefined;
    if (dms.has(event.kind) && event.tags.some((tag) => tag[0] === 'p' && tag[1] !== undefined && members.has(tag[1]))) return undefined;
    return reject('blocked', text);
  });
}
