import OPTSupport
/// Exact match as Super-NaturalInstructions scores it (`eval/automatic/evaluation.py` of
/// allenai/natural-instructions): both strings normalized, then compared code point by code point.
///
/// The normalization is SQuAD v1.1's without the article removal: Python's `str.lower()`, every
/// character of `string.punctuation` (ASCII punctuation only) removed, and runs of whitespace
/// (Python's `str.split()` notion of whitespace) collapsed to one space with none at either end.
/// Non-ASCII punctuation (`’`, `“`, `—`, `¿`) is kept, and strings are not Unicode-normalized:
/// `"café"` written with U+00E9 and with `e` + U+0301 do not match.
public enum ExactMatch {
    /// Super-NI's `normalize_answer(text)`.
    public static func normalize(_ text: String) -> String {
        PythonText.string(normalizedScalars(text))
    }

    /// Whether `prediction` and `reference` normalize to the same code points (`exact_match`).
    public static func matches(prediction: String, reference: String) -> Bool {
        normalizedScalars(prediction) == normalizedScalars(reference)
    }

    /// The best match over `references` (`metric_max_over_ground_truths(exact_match, …)`): 1 when
    /// any reference matches, else 0. An empty `references` gives 0 (the Python helper raises).
    public static func score(prediction: String, references: [String]) -> Double {
        let normalized = normalizedScalars(prediction)
        return references.contains { normalizedScalars($0) == normalized } ? 1 : 0
    }

    static func normalizedScalars(_ text: String) -> [Unicode.Scalar] {
        PythonText.collapseWhitespace(PythonText.lower(text).filter { !PythonText.isPunctuation($0) })
    }
}
