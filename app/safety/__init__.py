"""What keeps a run safe: the write policy, secret scrubbing, and the once-only report writer."""
