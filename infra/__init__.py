"""Deployment files and the generator that keeps them in step with the service list."""
