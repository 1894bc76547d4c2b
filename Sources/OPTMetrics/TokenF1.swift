import OPTSupport
/// SQuAD's token-level F1 (the official v1.1 evaluation script's `f1_score`), over the bag of
/// whitespace tokens of the normalized strings.
///
/// The normalization is SQuAD v1.1's `normalize_answer`: Python's `str.lower()`, `string.punctuation`
/// removed, the articles `a`, `an`, `the` removed where they stand as whole words (Python's
/// `re.sub(r'\b(a|an|the)\b', ' ', …)` with Unicode word boundaries), and whitespace collapsed.
/// Tokens compare code point by code point, without Unicode normalization.
public enum TokenF1 {
    /// SQuAD v1.1's `normalize_answer(text)`.
    public static func normalize(_ text: String) -> String {
        PythonText.string(normalizedScalars(text))
    }

    /// The tokens F1 counts: `normalize_answer(text).split()`.
    public static func tokens(_ text: String) -> [String] {
        PythonText.split(normalizedScalars(text)).map { PythonText.string($0) }
    }

    /// F1 of the multiset overlap between the tokens of `prediction` and `reference`; 0 when they
    /// share no token (so also when either normalizes to nothing).
    public static func score(prediction: String, reference: String) -> Double {
        let predicted = PythonText.split(normalizedScalars(prediction))
        let expected = PythonText.split(normalizedScalars(reference))
        var counts: [[Unicode.Scalar]: Int] = [:]
        for token in expected { counts[Array(token), default: 0] += 1 }
        var same = 0
        for token in predicted {
            let key = Array(token)
            if let left = counts[key], left > 0 {
                counts[key] = left - 1
                same += 1
            }
        }
        guard same > 0 else { return 0 }
        let precision = 1.0 * Double(same) / Double(predicted.count)
        let recall = 1.0 * Double(same) / Double(expected.count)
        return (2 * precision * recall) / (precision + recall)
    }

    /// The best F1 over `references` (`metric_max_over_ground_truths`); 0 for no references (the
    /// Python helper raises).
    public static func score(prediction: String, references: [String]) -> Double {
        references.map { score(prediction: prediction, reference: $0) }.max() ?? 0
    }

    static func normalizedScalars(_ text: String) -> [Unicode.Scalar] {
        let lowered = PythonText.lower(text).filter { !PythonText.isPunctuation($0) }
        return PythonText.collapseWhitespace(removingArticles(lowered))
    }

    private static let articles: [[Unicode.Scalar]] = [["a"], ["a", "n"], ["t", "h", "e"]]

    /// `re.sub(r'\b(a|an|the)\b', ' ', text)`: each whole-word article becomes one space.
    static func removingArticles(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var index = 0
        let count = text.count
        while index < count {
            let atBoundary = index == 0 || !PythonText.isWordCharacter(text[index - 1])
            var matched = 0
            if atBoundary, text[index] == "a" || text[index] == "t" {
                for article in articles {
                    let end = index + article.count
                    if end <= count, text[index..<end].elementsEqual(article),
                       end == count || !PythonText.isWordCharacter(text[end]) {
                        matched = article.count
                        break
                    }
                }
            }
            if matched > 0 {
                out.append(" ")
                index += matched
            } else {
                out.append(text[index])
                index += 1
            }
        }
        return out
    }
}
