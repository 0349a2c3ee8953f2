"""Local stand-ins for what a cloud hub provides, and the processes that run them:
S3 (moto) and GCS buckets on loopback, free ports, kernels and the client that reads
their replies, helpers that end with the command that started them.

May import: nothing else of hubtrain (the hub file, course, practice hub and
grading all use it).
"""
