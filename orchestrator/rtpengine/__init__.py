"""rtpengine's ng control protocol (bencode over UDP)."""
