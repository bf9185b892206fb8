"""Parser backends: the offline deterministic parser and the OpenAI-compatible LLM parser."""
