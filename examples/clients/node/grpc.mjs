// The same first calls in JavaScript over gRPC, with @grpc/grpc-js and
// @grpc/proto-loader reading the service's protos (npm install in this
// folder first):
//
//   node examples/clients/node/grpc.mjs 127.0.0.1:50051 [TOKEN]
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import path from "node:path";
import grpc from "@grpc/grpc-js";
import protoLoader from "@grpc/proto-loader";

const address = process.argv[2] ?? "127.0.0.1:50051";
const token = process.argv[3] ?? process.env.DISCLOSURE_TOKEN;
const agency = process.env.DISCLOSURE_AGENCY ?? "example-agency";

const protoDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../proto");
const definition = protoLoader.loadSync(
  ["disclosure/v1/ledger_service.proto", "disclosure/v1/report_service.proto"],
  { includeDirs: [protoDir], keepCase: false, longs: Number, enums: String, defaults: true, oneofs: true },
);
const { disclosure } = grpc.loadPackageDefinition(definition);
const credentials = grpc.credentials.createInsecure();
const ledger = new disclosure.v1.LedgerService(address, credentials);
const reports = new disclosure.v1.ReportService(address, credentials);
const metadata = new grpc.Metadata();
if (token) metadata.set("authorization", `Bearer ${token}`);

// A unary call as a promise.
const unary = (client, method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, metadata, (error, answer) => (error ? reject(error) : resolve(answer))),
  );

const year = new Date().getFullYear() - 1; // a year wholly past
const application = `js-grpc-${randomUUID().slice(0, 8)}`;
const event = (on, payload) => ({
  eventId: randomUUID(),
  agencyId: agency,
  subjectId: application,
  occurredOn: { year, month: 1, day: on },
  ...payload,
});

const appended = await unary(ledger, "appendEvents", {
  events: [
    event(5, { applicationReceived: { applicantCategory: "APPLICANT_CATEGORY_NATURAL_PERSON", channel: "CHANNEL_ONLINE" } }),
    event(20, { applicationConcluded: { outcome: "OUTCOME_DISCLOSED" } }),
  ],
});
console.log("appended at positions", appended.results.map((r) => r.position));

const got = await unary(ledger, "getApplication", { agencyId: agency, applicationId: application });
console.log("application", got.application.applicationId, "status", got.application.status, "events", got.history.length);

const { report } = await unary(reports, "getReport", { scope: { agencyId: agency }, year });
const row = report.applicationRows.find((r) => r.code === "new");
console.log(`三 一 ${row.label}: ${row.values.join(" ")}`);
ledger.close();
reports.close();
