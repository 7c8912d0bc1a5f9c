//! gRPC health and reflection answer.

mod support;

use support::*;
use tokio_stream::StreamExt;
use tonic::transport::Channel;

#[tokio::test]
async fn health_reports_serving_for_the_ledger_and_the_server() {
    use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};
    let app = spawn_app().await;
    let channel = Channel::from_shared(format!("http://{}", app.addr)).unwrap().connect().await.unwrap();
    let mut health = HealthClient::new(channel);
    for service in ["", "disclosure.v1.LedgerService"] {
        let r = health.check(HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(r.status, ServingStatus::Serving as i32, "service {service:?}");
    }
}

#[tokio::test]
async fn reflection_lists_the_services_in_v1_and_v1alpha() {
    let app = spawn_app().await;
    let channel = Channel::from_shared(format!("http://{}", app.addr)).unwrap().connect().await.unwrap();
    {
        use tonic_reflection::pb::v1::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let mut client = ServerReflectionClient::new(channel.clone());
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses =
            client.server_reflection_info(tokio_stream::iter(vec![request])).await.unwrap().into_inner();
        let Some(MessageResponse::ListServicesResponse(list)) =
            responses.next().await.unwrap().unwrap().message_response
        else {
            panic!("expected a service list");
        };
        let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
        assert!(names.contains(&"disclosure.v1.LedgerService"), "{names:?}");
        assert!(names.contains(&"grpc.health.v1.Health"), "{names:?}");
    }
    {
        use tonic_reflection::pb::v1alpha::{
            ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
            server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
        };
        let mut client = ServerReflectionClient::new(channel);
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol("disclosure.v1.Event".into())),
        };
        let mut responses =
            client.server_reflection_info(tokio_stream::iter(vec![request])).await.unwrap().into_inner();
        let Some(MessageResponse::FileDescriptorResponse(files)) =
            responses.next().await.unwrap().unwrap().message_response
        else {
            panic!("expected file descriptors");
        };
        assert!(!files.file_descriptor_proto.is_empty());
    }
}
