// The "my hub" control is added by the re-hosting issue.
