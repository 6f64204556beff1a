"""A KYC liveness vendor, simulated: `python -m kyc.simulator --port 8703 --delay 5`.

Sessions are opened with `POST /v1/liveness/sessions` and answered later, by a signed webhook
(`brokercrm.signing`), after the configured delay — as a real vendor that needs the client to
turn their head in front of a camera does. Outcomes are deterministic per reference: passed,
unless `--fail-rate` draws otherwise or a test set the reference's outcome beforehand with
`POST /admin/outcomes`.
"""
