"""The site and the one-off tools of the course (not imported by notebooks or the grader)."""
