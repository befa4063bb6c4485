//! `auditrail parse FILE…`: every input line as one JSON object on stdout.
