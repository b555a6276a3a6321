"""Running the local switch: Kamailio, rtpengine and the web admin as managed processes."""
