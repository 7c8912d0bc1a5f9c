//! The protobuf codec of every service: prost's, except that a message
//! that does not decode (garbage bytes, a truncated message, a string field
//! that is not UTF-8) is the caller's fault, answered INVALID_ARGUMENT
//! rather than prost's INTERNAL.

use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// The codec the generated services and clients use (`build.rs`).
#[derive(Debug, Clone, Default)]
pub struct WireCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Codec for WireCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = WireDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        WireDecoder(self.0.decoder())
    }
}

/// prost's decoder, with its failures put down to the sender.
#[derive(Debug, Clone)]
pub struct WireDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for WireDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|s| {
            let message: String = s.message().chars().take(200).collect();
            let kind = std::any::type_name::<U>().rsplit("::").next().unwrap_or("message");
            Status::invalid_argument(format!("the message is not a valid {kind}: {message}"))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
