"""Rate cards: provider decks, customer cards built with profit rules, revisions.

See docs/design/ratecards.md for the storage format and the build rules.
"""
