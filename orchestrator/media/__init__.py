"""Media-plane collectors: data rtpengine sends about calls (DTMF events), moved into
the model."""
