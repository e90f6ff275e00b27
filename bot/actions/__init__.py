"""Custom actions of the robot advisor, registered by name through rasa-sdk's executor."""
