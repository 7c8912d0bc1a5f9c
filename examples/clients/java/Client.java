// A case-management system's first calls, in Java over gRPC (grpc-java):
// appends an application's receipt and its conclusion, reads the
// application back, and prints the year's section 三 row 一.
//
//   examples/clients/java/run.sh 127.0.0.1:50051 [TOKEN]
//
// run.sh generates the classes from the service's protos (protoc with the
// grpc-java plugin), compiles this file against Debian's grpc-java and
// protobuf-java jars, and runs it. In a Spring application the same calls
// go through the generated blocking stub, as here.

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Metadata;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.MetadataUtils;
import java.time.LocalDate;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.disclosureledger.v1.AppendEventsRequest;
import org.disclosureledger.v1.AppendEventsResponse;
import org.disclosureledger.v1.ApplicantCategory;
import org.disclosureledger.v1.ApplicationConcluded;
import org.disclosureledger.v1.ApplicationReceived;
import org.disclosureledger.v1.ApplicationRow;
import org.disclosureledger.v1.Channel;
import org.disclosureledger.v1.Event;
import org.disclosureledger.v1.GetApplicationRequest;
import org.disclosureledger.v1.GetApplicationResponse;
import org.disclosureledger.v1.GetReportRequest;
import org.disclosureledger.v1.LedgerServiceGrpc;
import org.disclosureledger.v1.Outcome;
import org.disclosureledger.v1.Report;
import org.disclosureledger.v1.ReportScope;
import org.disclosureledger.v1.ReportServiceGrpc;

public final class Client {
  public static void main(String[] args) throws Exception {
    String address = args.length > 0 ? args[0] : "127.0.0.1:50051";
    String token = args.length > 1 ? args[1] : System.getenv("DISCLOSURE_TOKEN");
    String agency = System.getenv().getOrDefault("DISCLOSURE_AGENCY", "example-agency");

    ManagedChannel channel = ManagedChannelBuilder.forTarget(address).usePlaintext().build();
    Metadata headers = new Metadata();
    if (token != null && !token.isEmpty()) {
      headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
    }
    LedgerServiceGrpc.LedgerServiceBlockingStub ledger = LedgerServiceGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .withDeadlineAfter(30, TimeUnit.SECONDS);
    ReportServiceGrpc.ReportServiceBlockingStub reports = ReportServiceGrpc.newBlockingStub(channel)
        .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
        .withDeadlineAfter(30, TimeUnit.SECONDS);

    int year = LocalDate.now().getYear() - 1; // a year wholly past
    String application = "java-" + UUID.randomUUID().toString().substring(0, 8);
    Event received = event(agency, application, year, 5)
        .setApplicationReceived(ApplicationReceived.newBuilder()
            .setApplicantCategory(ApplicantCategory.APPLICANT_CATEGORY_NATURAL_PERSON)
            .setChannel(Channel.CHANNEL_ONLINE))
        .build();
    Event concluded = event(agency, application, year, 20)
        .setApplicationConcluded(ApplicationConcluded.newBuilder().setOutcome(Outcome.OUTCOME_DISCLOSED))
        .build();
    try {
      AppendEventsResponse appended = ledger.appendEvents(
          AppendEventsRequest.newBuilder().addEvents(received).addEvents(concluded).build());
      System.out.println("appended at positions " + appended.getResultsList().stream()
          .map(r -> Long.toString(r.getPosition())).collect(Collectors.joining(", ", "[", "]")));

      GetApplicationResponse got = ledger.getApplication(GetApplicationRequest.newBuilder()
          .setAgencyId(agency).setApplicationId(application).build());
      System.out.println("application " + got.getApplication().getApplicationId() + " status "
          + got.getApplication().getStatus() + " events " + got.getHistoryCount());

      Report report = reports.getReport(GetReportRequest.newBuilder()
          .setScope(ReportScope.newBuilder().setAgencyId(agency)).setYear(year).build()).getReport();
      ApplicationRow row = report.getApplicationRowsList().stream()
          .filter(r -> r.getCode().equals("new")).findFirst().orElseThrow();
      System.out.println("三 一 " + row.getLabel() + ": " + row.getValuesList().stream()
          .map(String::valueOf).collect(Collectors.joining(" ")));
    } catch (StatusRuntimeException e) {
      // The code and message say what was refused; the rich details
      // (google.rpc.BadRequest and the like) are in the trailers.
      System.err.println("refused: " + e.getStatus());
      System.exit(1);
    } finally {
      channel.shutdown().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static Event.Builder event(String agency, String application, int year, int day) {
    return Event.newBuilder()
        .setEventId(UUID.randomUUID().toString())
        .setAgencyId(agency)
        .setSubjectId(application)
        .setOccurredOn(com.google.type.Date.newBuilder().setYear(year).setMonth(1).setDay(day));
  }
}
