"""Email and SMS to customers and operators (docs/notifications.md).

``outbox`` queues a message (a ``messages`` row and a ``notify.deliver`` job, see
``tasks``) and reads the log; ``config`` holds the run-time SMTP, SMS gateway and
verification settings; ``smtp`` and ``sms`` send one message; ``testsend`` is the
"send a test" button; ``attachments`` makes attachments at delivery time.
"""
