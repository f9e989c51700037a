// Types of the ndr-filter package. Written by hand from the Rust types they mirror (named beside
// each); `test/types.test.mjs` checks every report of the corpus against them, field by field.
// Absent values are `null`, never `undefined`.

/** What a message is (`report::Kind`). */
export type Kind =
  | "bounce"
  | "delay"
  | "delivered"
  | "auto_reply"
  | "challenge_response"
  | "feedback_report"
  | "read_receipt"
  | "normal";

/** The 36 reason classes (`reason::REASONS`, sisimai's vocabulary; explained in docs/reasons.md of the source repository). */
export type Reason =
  | "authfailure" | "badreputation" | "blocked" | "contenterror" | "delivered" | "exceedlimit"
  | "expired" | "failedstarttls" | "feedback" | "filtered" | "hasmoved" | "hostunknown"
  | "mailboxfull" | "mailererror" | "mesgtoobig" | "networkerror" | "norelaying" | "notaccept"
  | "notcompliantrfc" | "onhold" | "policyviolation" | "rejected" | "requireptr" | "securityerror"
  | "spamdetected" | "speeding" | "suppressed" | "suspend" | "syntaxerror" | "systemerror"
  | "systemfull" | "toomanyconn" | "undefined" | "userunknown" | "vacation" | "virusdetected";

/** Is the bounce ours? (`verdict::Verdict`). */
export type Verdict = "legitimate" | "backscatter" | "ndr_spam" | "unknown";

/** What to do with the message (`verdict::Action`). */
export type Action = "accept" | "tag" | "quarantine" | "reject" | "drop" | "tempfail";

/** Why a recipient has its reason (`report::ReasonSource`). */
export interface ReasonSource {
  /** phrase, receiver, status, reply_code, smtp_command, delay, diagnostic_type, format, fallback. */
  rule: string;
  /** The phrase table, receiver, status registry (rfc3463 ...), rfc5321 or format. */
  table: string;
  /** The phrase, code, command, or the fallback's reason. */
  entry: string;
}

/** One failed (or delayed, or delivered) recipient of a report (`report::Recipient`). */
export interface Recipient {
  address: string | null;
  /** RFC 3464 Action: failed, delayed, delivered, relayed, expanded. */
  action: string | null;
  /** RFC 3463 status, e.g. "5.1.1". */
  status: string | null;
  /** The status was inferred from the text, not stated by the report. */
  pseudo_status: boolean;
  /** SMTP reply code, e.g. "550". */
  reply_code: string | null;
  diagnostic: string | null;
  remote_mta: string | null;
  /** The SMTP command the failure answered: CONN, EHLO, HELO, MAIL, RCPT, DATA. */
  smtp_command: string | null;
  reason: Reason;
  /** Which rule decided `reason` (ABI 1.3): see docs/ABI.md. */
  reason_source: ReasonSource | null;
  /** A permanent failure: do not retry, remove the address. */
  hard: boolean;
  original_recipient: string | null;
  last_attempt: string | null;
}

/** One Received line of the returned original (`report::ReceivedHop`). */
export interface ReceivedHop {
  from_host: string | null;
  by_host: string | null;
  ip: string | null;
}

/** The returned original message, or its headers (`report::Original`). */
export interface Original {
  /** Where it was found: message/rfc822, text/rfc822-headers, inline, ... */
  source: string;
  headers_only: boolean;
  message_id: string | null;
  from: string | null;
  to: string[];
  subject: string | null;
  date: string | null;
  return_path: string | null;
  received: ReceivedHop[];
}

/** An ARF feedback report's fields (`report::Feedback`). */
export interface Feedback {
  feedback_type: string | null;
  user_agent: string | null;
  source_ip: string | null;
  original_mail_from: string | null;
  reported_domain: string | null;
}

/** The result of verifying a BATV tag (`batv::Outcome`). */
export type BatvOutcome =
  | "valid"
  | "expired"
  | "bad_signature"
  | "unknown_key"
  | "malformed"
  | "untagged"
  | "foreign_tag"
  /** The address is in `site.relay_domains`: our keys say nothing about it. */
  | "relay_domain";

/** BATV verification of an address (`batv::Verified`). */
export interface BatvVerified {
  result: BatvOutcome;
  /** The key digit of the tag. */
  key: number | null;
  /** The address without its tag. */
  address: string;
  /** The tag only verified after lowercasing the address. */
  case_folded: boolean;
  /** For an expired tag: days past its expiry. */
  days_past: number | null;
  /** For a tag that is not ours to verify: prvs, btv1, msprvs1, ... */
  tag_kind: string | null;
  /** False during the rollout's observe period: a failure must not be acted on yet. */
  enforcing: boolean;
}

/** A BATV-signed address (`batv::Signed`). */
export interface BatvSigned {
  address: string;
  signed: boolean;
  key: number | null;
  /** Why the address was left unsigned. */
  skipped: string | null;
}

/** Why an SRS address did not reverse (`srs::ReverseError`). */
export type SrsReverseError = "not_srs" | "foreign_domain" | "malformed" | "expired" | "bad_hash";

/** SRS reversal (`srs::Reversed`): the original address, or why not. */
export interface SrsReversed {
  address: string | null;
  error: SrsReverseError | null;
}

/** Our tags on an envelope recipient (`report::RcptCheck`). */
export interface RcptCheck {
  address: string;
  batv: BatvVerified | null;
  srs: SrsReversed | null;
}

/** One piece of evidence for the verdict (`verdict::Signal`). */
export interface Signal {
  name: string;
  value: string;
  /** Evidence that the bounce is ours (negative: that it is backscatter). */
  weight: number;
  /** Evidence that the report is spam carrying a payload. */
  spam: number;
  /** False when the signal had nothing to look at: it then weighs 0 and `value` says why. */
  observed: boolean;
}

/** The reply to give during SMTP (`verdict::SmtpReply`). */
export interface SmtpReply {
  code: number;
  status: string;
  text: string;
}

/** The answer of `classify` (`report::Report`): the same object as `ndr scan --json` prints. */
export interface Report {
  kind: Kind;
  is_bounce: boolean;
  /** The detector that read it: rfc3464, arf, text, ... */
  format: string | null;
  recipients: Recipient[];
  original: Original | null;
  reporting_mta: string | null;
  arrival_date: string | null;
  feedback: Feedback | null;
  rcpt_checks: RcptCheck[];
  verdict: Verdict | null;
  action: Action | null;
  /** When to act: "rcpt" or "data". */
  stage: string | null;
  smtp_reply: SmtpReply | null;
  signals: Signal[];
  score: number | null;
  /** The envelope was read from delivery headers, not given. */
  envelope_inferred: boolean;
  subject: string | null;
  from: string | null;
  /** What was truncated or could not be read. */
  warnings: string[];
  /** Set when the message could not be classified at all. */
  error: string | null;
}

/** The SMTP envelope (`config::Envelope`); "" is the null sender. */
export interface Envelope {
  mail_from?: string | null;
  rcpt_to?: string[];
  client_ip?: string | null;
  helo?: string | null;
}

/** One BATV key (`batv::KeyConfig`): exactly one of the secret forms. */
export interface BatvKey {
  /** The key digit K (0-9) written into tags. */
  digit: number;
  secret?: string | null;
  /** Make one with `head -c 32 /dev/urandom | xxd -p` (README, "Making keys"). */
  secret_hex?: string | null;
  secret_base64?: string | null;
  /** From when it signs, Unix seconds (default 0). */
  sign_from?: number;
  /** Until when it signs (default: until a key with a later `sign_from` takes over). */
  sign_until?: number | null;
  /** Until when it verifies (default: end of signing + `overlap_days`; forever while it signs). */
  verify_until?: number | null;
}

/** The BATV key ring and policy (`batv::BatvConfig`). */
export interface BatvConfig {
  keys: BatvKey[];
  /** Days a tag stays valid (default 7, as Exim). */
  lifetime_days?: number;
  /** `canonical` (default) or `exact`: the address as given, byte-identical to Exim's `${prvs}`. */
  mode?: "canonical" | "exact";
  /** Days a replaced key keeps verifying after it stopped signing (default: lifetime + 1). */
  overlap_days?: number | null;
  /** Days after `enabled_at` during which untagged bounces are reported, not rejected (default 7). */
  observe_days?: number;
  /** When signing started, Unix seconds (default: the earliest key's `sign_from`). */
  enabled_at?: number | null;
  /** Destinations (domains or addresses) that must see our sender untagged: lists, greylisting peers. */
  exempt?: string[];
  /** Local parts never signed (default postmaster, mailer-daemon, abuse). */
  never_sign?: string[];
}

/** SRS rewriting (`srs::SrsConfig`). */
export interface SrsConfig {
  /** Our forwarding domain: rewritten senders end `@domain`. */
  domain: string;
  /** Other domains of ours whose senders are not rewritten. */
  local_domains?: string[];
  /** The first signs, all verify (put a new one first, keep the old 21 days or more). */
  secrets: string[];
  /** Hash alphabet (default `url`). */
  alphabet?: "standard" | "url";
  /** `=` (default), `+` or `-` after `SRS0`/`SRS1`. */
  separator?: string;
  /** Days a rewritten address stays valid (default 21). */
  max_age_days?: number;
}

/** Who we are (`verdict::SiteConfig`). */
export interface SiteConfig {
  domains?: string[];
  /** Our relays: host names (with wildcards), IP addresses, CIDR networks. */
  relays?: string[];
  never_sending?: string[];
  allow_reporting_mtas?: string[];
  /** Domains we relay for but do not own: their reports are not judged, they pass. */
  relay_domains?: string[];
}

/** Verdict to action (`verdict::PolicyConfig`). */
export interface PolicyConfig {
  /** `observe`: only tag and report; `enforce` (the default): carry out the actions below. */
  mode?: "observe" | "enforce";
  /** Backscatter with strong evidence: a forged or replayed tag (default `reject`). */
  backscatter_strong?: Action;
  /** Backscatter on content evidence only (default `quarantine`). */
  backscatter?: Action;
  /** A report-shaped advertisement (default `quarantine`). */
  ndr_spam?: Action;
  /** Nothing points either way (default `accept`). */
  unknown?: Action;
  /** Default `accept`. */
  legitimate?: Action;
  /** Score for a verdict either way (default 30); docs/signals.md of the source repository says how signals add up. */
  threshold?: number;
  /** Days after a BATV tag expired within which a bounce to it is weak evidence (default 5). */
  bounce_horizon_days?: number;
}

/** Input limits (`config::Limits`); past one, a warning in the report says what was cut. */
export interface Limits {
  /** Bytes of the message that are read (default 33554432, 32 MiB). */
  max_message_bytes?: number;
  /** How deep nested messages are followed (default 8). */
  max_nesting?: number;
  /** Embedded messages read at all (default 64). */
  max_embedded_messages?: number;
  /** Recipients listed in one report (default 1000). */
  max_recipients?: number;
  /** MIME parts read, over the message and its nested messages (default 1000). */
  max_parts?: number;
  /** Header fields read per header block (default 1000). */
  max_headers?: number;
  /** Bytes of one (decoded) header value that are read (default 65536). */
  max_header_bytes?: number;
}

/** The site configuration: the JSON form of site.toml (`config::Config`). */
export interface Config {
  limits?: Limits;
  batv?: BatvConfig | null;
  srs?: SrsConfig | null;
  site?: SiteConfig | null;
  policy?: PolicyConfig;
}

/** What the host knows besides the message (ABI 1.4): absent facts add no signal. */
export interface Facts {
  /** A Message-ID the report refers to is in the host's sent-mail registry (false: looked up, absent). */
  sent_registry?: boolean | null;
  /** Earlier decisions about reports from the same source (client network) over the host's window. */
  source_reputation?: { backscatter?: number; legitimate?: number } | null;
}

export interface ClassifyOptions {
  envelope?: Envelope | null;
  config?: Config;
  /** Facts from the host's state (sent-mail registry, source reputation); ABI 1.4. */
  facts?: Facts;
  /** Unix seconds; default: the clock. */
  now?: number;
}

export interface AddressOptions {
  config: Config;
  address: string;
  /** For signing: the recipient (exempt destinations get an unsigned sender). */
  destination?: string | null;
  /** Unix seconds; default: the clock. */
  now?: number;
}

/** What an MTA knows about a message it is about to bounce (`outbound::SendContext`). */
export interface SendContext {
  notify?: string[];
  ret?: string | null;
  spf?: string | null;
  dkim_aligned?: boolean;
  authenticated?: boolean;
  spam?: boolean;
  virus?: boolean;
}

export interface ShouldBounceOptions {
  envelope: Envelope;
  context?: SendContext;
  config?: Config;
  now?: number;
}

/** `outbound::ShouldBounce`. */
export interface ShouldBounceAnswer {
  decision: "send" | "send_headers_only" | "drop";
  reason: string;
}

/** One recipient of a report to build (`outbound::FailedRecipient`). */
export interface FailedRecipient {
  address: string;
  status: string;
  action?: string | null;
  remote_mta?: string | null;
  diagnostic?: string | null;
}

export interface BuildDsnOptions {
  envelope: Envelope;
  failure: { recipients: FailedRecipient[]; reporting_mta: string; arrival?: number | null };
  /** Return the whole original instead of its headers. */
  full?: boolean;
  now?: number;
}

/** `outbound::Dsn`: a ready-to-send RFC 3464 report. */
export interface Dsn {
  mail_from: string;
  rcpt_to: string[];
  message: string;
}

/** `requests::info`. */
export interface Info {
  abi_major: number;
  abi_minor: number;
  version: string;
  reasons: Reason[];
}

/** Error codes of thrown errors: the ABI's status names, and bad_input for a message of the wrong type. */
export type ErrorCode = "bad_json" | "bad_config" | "bad_input" | "internal";

/** Every function throws an `Error` with one of these codes. */
export interface NdrError extends Error {
  code: ErrorCode;
}

/** A message: a string (sent as UTF-8), a Uint8Array (a Node Buffer too) or an ArrayBuffer. */
export type RawMessage = string | Uint8Array | ArrayBuffer;

export function classify(raw: RawMessage, options?: ClassifyOptions): Report;
export function shouldBounce(raw: RawMessage, options: ShouldBounceOptions): ShouldBounceAnswer;
export function buildDsn(raw: RawMessage, options: BuildDsnOptions): Dsn;
export function batvSign(options: AddressOptions): BatvSigned;
export function batvVerify(options: AddressOptions): BatvVerified;
export function srsForward(options: AddressOptions): { address: string };
export function srsReverse(options: AddressOptions): SrsReversed;
export function info(): Info;
/** The ABI version the answers follow, "major.minor". */
export const version: string;
/** The version of the filter crate the module was built from. */
export const packageVersion: string;
