"""Introducing brokers, rebate plans and commissions."""
