"""The online learning loop: evidence from conversations, the review queue, gaps to drafts, live index versions."""
