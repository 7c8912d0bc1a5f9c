// A case-management system's first calls, in JavaScript over HTTP/JSON,
// with nothing but Node's own fetch (Node 18 or later):
//
//   node examples/clients/node/http-fetch.mjs http://127.0.0.1:50051 [TOKEN]
//
// Appends an application's receipt and its conclusion, reads the
// application back, and prints the year's section 三 row 一. A refusal is
// the google.rpc.Status JSON under its HTTP status (400, 401, 403, 409,
// 412, 429, 503…), with the details that say which field and why.
import { randomUUID } from "node:crypto";

const base = process.argv[2] ?? "http://127.0.0.1:50051";
const token = process.argv[3] ?? process.env.DISCLOSURE_TOKEN;
const agency = process.env.DISCLOSURE_AGENCY ?? "example-agency";

async function call(method, path, body) {
  const response = await fetch(base + path, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) {
    const fields = (answer.details ?? []).flatMap((d) => d.fieldViolations ?? []);
    throw new Error(`${response.status} ${answer.message} ${JSON.stringify(fields)}`);
  }
  return answer;
}

const year = new Date().getFullYear() - 1; // a year wholly past
const application = `js-http-${randomUUID().slice(0, 8)}`;
const event = (on, payload) => ({
  eventId: randomUUID(),
  agencyId: agency,
  subjectId: application,
  occurredOn: { year, month: 1, day: on },
  ...payload,
});

const appended = await call("POST", "/v1/events:append", {
  events: [
    event(5, { applicationReceived: { applicantCategory: "APPLICANT_CATEGORY_NATURAL_PERSON", channel: "CHANNEL_ONLINE" } }),
    event(20, { applicationConcluded: { outcome: "OUTCOME_DISCLOSED" } }),
  ],
});
// 64-bit integers come as strings in the JSON mapping.
console.log("appended at positions", appended.results.map((r) => Number(r.position)));

const got = await call("GET", `/v1/agencies/${encodeURIComponent(agency)}/applications/${encodeURIComponent(application)}`);
console.log("application", got.application.applicationId, "status", got.application.status, "events", got.history.length);

const { report } = await call("GET", `/v1/agencies/${encodeURIComponent(agency)}/reports/${year}`);
const row = report.applicationRows.find((r) => r.code === "new");
console.log(`三 一 ${row.label}: ${row.values.map(Number).join(" ")}`);
