"""Code that ships inside the student release and runs on the learner's hub."""
