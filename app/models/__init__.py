"""The chat model (langchain-openai), tolerant parsing of its answers, and the model-backed
roles; `choice.roles_for` picks model or offline roles from the settings."""
