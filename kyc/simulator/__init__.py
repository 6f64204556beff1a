"""A KYC liveness vendor, simulated: `python -m kyc.simulator --port 8703 --delay 5`.

Sessions are opened with `POST /v1/liveness/sessions` and answered later, by a signed webhook
(`brokercrm.signing`), after the configured delay — as a real vendor that needs the client to
turn their head in front of a camera does. Outcomes are deterministic per reference: passed,
unless `--fail-rate` draws otherwise or a test set the reference's outcome beforehand with
`POST /admin/outcomes`.

Every session has a `capture_url` (`GET /capture/{session_id}`: a plain HTML page). A session
opened with `"client_capture": true` waits for the client there: the verdict's delay starts
when they send the page's form (`POST /capture/{session_id}`, once), and their browser goes to
the session's `return_url` (303, `?session=…&status=submitted`) if one was given.
`--public-url` (or `KYC_LIVENESS_PUBLIC_URL`) is the address browsers use, when not the one
our server calls.
"""
