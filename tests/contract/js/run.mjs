// Drives the official seven.io client (@seven.io/client, unmodified) for the Python contract tests.
//
// Reads one JSON document on stdin:
//   {"client": {"apiKey": "...", "signingSecret": "..."},      // ClientOptions
//    "calls": [{"call": "sms.dispatch", "args": [{...}]}, ...]} // resource.method and its arguments
// and prints one JSON document on stdout: {"results": [{"value": ...} | {"error": "..."}, ...]},
// one entry per call, in order. A call named `webhook.verify` runs the client's WebhookVerifier:
//   {"call": "webhook.verify", "options": {"signingSecret": "..."}, "args": [{method, url, headers, body}]}
// Argument fields named in a call's "dates" list (e.g. ["delay"]) become Date objects first,
// as the client's typings ask for.
import {
  AnalyticsResource,
  BalanceResource,
  Client,
  ContactsResource,
  GroupsResource,
  HooksResource,
  JournalResource,
  LookupResource,
  NumbersResource,
  PricingResource,
  RcsResource,
  SmsResource,
  StatusResource,
  SubaccountsResource,
  ValidateResource,
  VoiceResource,
  WebhookVerifier,
} from "@seven.io/client";

const RESOURCES = {
  analytics: AnalyticsResource,
  balance: BalanceResource,
  contacts: ContactsResource,
  groups: GroupsResource,
  hooks: HooksResource,
  journal: JournalResource,
  lookup: LookupResource,
  numbers: NumbersResource,
  pricing: PricingResource,
  rcs: RcsResource,
  sms: SmsResource,
  status: StatusResource,
  subaccounts: SubaccountsResource,
  validate: ValidateResource,
  voice: VoiceResource,
};

// StatusResource.get logs its raw answer with console.log: keep stdout for our JSON alone.
const out = process.stdout.write.bind(process.stdout);
console.log = (...items) => console.error(...items);

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function withDates(args, dates) {
  if (!dates || !dates.length) return args;
  return args.map((arg) => {
    if (!arg || typeof arg !== "object" || Array.isArray(arg)) return arg;
    const copy = { ...arg };
    for (const name of dates) if (name in copy) copy[name] = new Date(copy[name]);
    return copy;
  });
}

async function perform(client, step) {
  const args = withDates(step.args ?? [], step.dates);
  if (step.call === "webhook.verify") {
    return await new WebhookVerifier(step.options).verify(...args);
  }
  const [resourceName, method] = step.call.split(".");
  const Resource = RESOURCES[resourceName];
  if (!Resource) throw new Error(`unknown resource ${resourceName}`);
  const resource = new Resource(client);
  if (typeof resource[method] !== "function") throw new Error(`unknown method ${step.call}`);
  return await resource[method](...args);
}

function describe(error) {
  return error instanceof Error ? error.message : String(error);
}

const request = await readStdin();
const client = new Client(request.client);
const results = [];
for (const step of request.calls) {
  try {
    const value = await perform(client, step);
    results.push({ value: value === undefined ? null : value });
  } catch (error) {
    results.push({ error: describe(error), cause: error?.cause ? describe(error.cause) : undefined });
  }
}
out(JSON.stringify({ results }) + "\n");
