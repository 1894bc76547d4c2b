import Foundation
import OPTSupport
import OPTBench
import OPTTemplate

/// lm-evaluation-harness's filters on a generation, in pipeline order: `regex` keeps the selected match (its
/// group when the pattern has one, the first non-empty group when it has several), stripped, or `[invalid]`;
/// `take_first` keeps the first of several generations, which for one generation changes nothing.
public enum SuiteFilters {
    public static let fallback = "[invalid]"

    public static func apply(_ filters: [SuiteFilter], to generation: String) -> String {
        filters.reduce(generation) { text, filter in
            guard filter.function == "regex", let pattern = filter.regexPattern else { return text }
            return regex(pattern, select: filter.groupSelect ?? 0, in: text)
        }
    }

    /// Python's `re.findall(pattern, text)[select]` as lm-eval's RegexFilter uses it.
    static func regex(_ pattern: String, select: Int, in text: String) -> String {
        // Patterns come from the suite files, which the tests load; an invalid one finds nothing.
        guard let expression = try? NSRegularExpression(pattern: pattern) else { return fallback }
        let whole = NSRange(text.startIndex..., in: text)
        let found: [String] = expression.matches(in: text, range: whole).map { match in
            func group(_ index: Int) -> String {
                Range(match.range(at: index), in: text).map { String(text[$0]) } ?? ""
            }
            switch match.numberOfRanges {
            case 1: return group(0)
            case 2: return group(1)
            default: return (1..<match.numberOfRanges).map(group).first { !$0.isEmpty } ?? fallback
            }
        }
        // A negative index counts from the end, as in Python.
        let index = select < 0 ? found.count + select : select
        guard found.indices.contains(index) else { return fallback }
        return PythonText.strip(found[index])
    }
}
