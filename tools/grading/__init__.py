"""The grader: tools/grade.py and tools/gradescope.py are its commands (README, "Grading")."""
