package dev.carpoperator.lab;

/** A step of the story did not turn out as expected; the message says what was seen instead. */
final class StoryFailure extends RuntimeException {
  StoryFailure(String message) {
    super(message);
  }
}
