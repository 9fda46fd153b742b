"""A complete thought record as lines typed into `cbt-companion chat` (buttons by number)."""

THOUGHT_RECORD_LINES = [
    "/start",
    "1",  # Yes, store my entries
    "/thought",
    "My flatmate left dishes in the sink again.",
    "Anxious",
    "75",
    "1",  # Add another mood
    "Irritated",
    "50",
    "2",  # No, that's all
    "He doesn't respect me.",
    "2",  # No, that's all
    "12",  # Skip the thinking traps
    "He left dishes three times this week.",
    "He cooked for me on Sunday and apologised last time.",
    "He is messy and he does care about me.",
    "60",
    "35",
    "30",
]
