"""KYC files, documents, checks, risk and review queues."""
