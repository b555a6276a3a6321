"""Running the local switch: Kamailio, rtpengine, the web admin and the job worker as
managed processes."""
