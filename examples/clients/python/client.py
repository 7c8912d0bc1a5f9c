"""A case-management system's first calls, in Python over gRPC (grpcio).

Appends an application's receipt and its conclusion, reads the application
back, and prints the year's section 三 row 一 (new applications by
applicant column). The stubs are generated from the service's protos at
start, so the example needs nothing but `pip install grpcio grpcio-tools`:

    python3 examples/clients/python/client.py 127.0.0.1:50051 [TOKEN]

(TOKEN, or the DISCLOSURE_TOKEN variable: a writer token for the agency;
none when the server runs with --no-auth.)
"""

import datetime
import importlib
import os
import pathlib
import sys
import tempfile
import uuid

import grpc
from grpc_tools import protoc

PROTO = pathlib.Path(__file__).resolve().parents[3] / "proto"
AGENCY = os.environ.get("DISCLOSURE_AGENCY", "example-agency")


def stubs():
    """Generates the Python modules of the protos into a temporary dir."""
    out = tempfile.mkdtemp(prefix="disclosure-stubs-")
    files = [str(p.relative_to(PROTO)) for p in PROTO.rglob("*.proto")]
    include = pathlib.Path(protoc.__file__).parent / "_proto"  # the well-known types
    code = protoc.main(["protoc", f"-I{PROTO}", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", *files])
    if code != 0:
        sys.exit(f"protoc failed ({code})")
    sys.path.insert(0, out)
    return (
        importlib.import_module("disclosure.v1.event_pb2"),
        importlib.import_module("disclosure.v1.codes_pb2"),
        importlib.import_module("disclosure.v1.ledger_service_pb2"),
        importlib.import_module("disclosure.v1.ledger_service_pb2_grpc"),
        importlib.import_module("disclosure.v1.report_service_pb2"),
        importlib.import_module("disclosure.v1.report_service_pb2_grpc"),
        importlib.import_module("google.type.date_pb2"),
    )


def main():
    address = sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:50051"
    token = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("DISCLOSURE_TOKEN")
    event_pb2, codes_pb2, ledger_pb2, ledger_grpc, report_pb2, report_grpc, date_pb2 = stubs()
    metadata = [("authorization", f"Bearer {token}")] if token else []
    channel = grpc.insecure_channel(address)
    ledger = ledger_grpc.LedgerServiceStub(channel)
    reports = report_grpc.ReportServiceStub(channel)

    today = datetime.date.today()
    year = today.year - 1  # a year wholly past: every date in it is allowed
    received_on = date_pb2.Date(year=year, month=1, day=5)
    concluded_on = date_pb2.Date(year=year, month=1, day=20)
    application = f"py-{uuid.uuid4().hex[:8]}"

    received = event_pb2.Event(
        event_id=str(uuid.uuid4()),
        agency_id=AGENCY,
        subject_id=application,
        occurred_on=received_on,
        application_received=event_pb2.ApplicationReceived(
            applicant_category=codes_pb2.APPLICANT_CATEGORY_NATURAL_PERSON,
            channel=codes_pb2.CHANNEL_ONLINE,
        ),
    )
    concluded = event_pb2.Event(
        event_id=str(uuid.uuid4()),
        agency_id=AGENCY,
        subject_id=application,
        occurred_on=concluded_on,
        application_concluded=event_pb2.ApplicationConcluded(outcome=codes_pb2.OUTCOME_DISCLOSED),
    )
    answer = ledger.AppendEvents(ledger_pb2.AppendEventsRequest(events=[received, concluded]), metadata=metadata)
    print("appended at positions", [r.position for r in answer.results])

    got = ledger.GetApplication(
        ledger_pb2.GetApplicationRequest(agency_id=AGENCY, application_id=application), metadata=metadata
    )
    print("application", got.application.application_id, "status", got.application.status,
          "events", len(got.history))

    report = reports.GetReport(
        report_pb2.GetReportRequest(scope=report_pb2.ReportScope(agency_id=AGENCY), year=year), metadata=metadata
    ).report
    row = next(r for r in report.application_rows if r.code == "new")
    print("三 一 " + row.label + ": " + " ".join(str(v) for v in row.values))


if __name__ == "__main__":
    main()
