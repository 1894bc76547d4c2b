import Foundation

/// A decoder's error (JSONDecoder's, Yams') as one line a user can act on: what was missing or wrong, and where, as
/// the key path of the file (`tasks[0].role`), with the position of a JSON syntax error where Foundation gives one.
public enum DecodingProblem {
    /// What went wrong and where: `missing key "title"`, `expected a list at shots`,
    /// `invalid value "banana" at tasks[0].role`, `not valid JSON: … around line 1, column 3.`
    public static func describe(_ error: any Error) -> String {
        guard let decoding = error as? DecodingError else { return "\(error)" }
        guard let path = keyPath(decoding) else { return reason(decoding) }
        if case .keyNotFound = decoding { return reason(decoding) + " in " + path }
        return reason(decoding) + " at " + path
    }

    /// As `describe(_:)` for an error decoding the JSON `data`: a syntax error, of which Foundation's JSONDecoder says
    /// only that the data is not valid JSON, is found again by JSONSerialization, which says what and where
    /// ("Invalid value around character 8.").
    public static func describe(_ error: any Error, json data: Data) -> String {
        if case .dataCorrupted(let context)? = error as? DecodingError, context.codingPath.isEmpty {
            do { _ = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
                return "not valid JSON: " + FileProblem.reason(error)
            }
        }
        return describe(error)
    }

    /// Where in the file (`a.b[0]`), nil at the top level.
    public static func keyPath(_ error: DecodingError) -> String? {
        let path = context(error)?.codingPath ?? []
        guard !path.isEmpty else { return nil }
        return path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    /// What went wrong, without where.
    public static func reason(_ error: DecodingError) -> String {
        switch error {
        case let .keyNotFound(key, _): return "missing key \"\(key.stringValue)\""
        case let .typeMismatch(type, _): return "expected \(kind(type))"
        case let .valueNotFound(type, _): return "expected \(kind(type)), found null"
        case let .dataCorrupted(context):
            // Foundation's parser puts the syntax error and its position in the underlying error.
            if let syntax = (context.underlyingError as? NSError)?.userInfo[NSDebugDescriptionErrorKey] as? String {
                return "not valid JSON: \(syntax)"
            }
            return invalidValue(context.debugDescription)
        @unknown default: return "\(error)"
        }
    }

    private static func context(_ error: DecodingError) -> DecodingError.Context? {
        switch error {
        case let .keyNotFound(_, context), let .typeMismatch(_, context), let .valueNotFound(_, context), let .dataCorrupted(context):
            context
        @unknown default: nil
        }
    }

    /// A type as the file's author knows it.
    private static func kind(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: return "a string"
        case is Bool.Type: return "true or false"
        case is Int.Type, is Int64.Type, is Int32.Type, is UInt64.Type, is UInt.Type: return "an integer"
        case is Double.Type, is Float.Type: return "a number"
        default:
            // Foundation and Yams name containers by their Swift types.
            let name = "\(type)"
            if name.hasPrefix("Array") || name == "Sequence" { return "a list" }
            if name.hasPrefix("Dictionary") || name == "Mapping" { return "a mapping" }
            return name
        }
    }

    /// `invalid value "banana"` for a Swift enum's "Cannot initialize Role from invalid String value banana".
    private static func invalidValue(_ description: String) -> String {
        guard let from = description.range(of: "from invalid "),
              let value = description[from.upperBound...].range(of: " value ") else { return description }
        return "invalid value \"\(description[value.upperBound...])\""
    }
}
