"""Instructor and maintainer tools around nbgrader: regeneration, student edition, class grading."""
