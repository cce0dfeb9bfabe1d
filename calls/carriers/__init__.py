"""The carriers: one module each, translating its provider's protocol to lifecycle reports.

registry.py says which module serves which kind of carrier account; placement decisions
(queue, limits, retries) live in calls/placement.py.
"""
