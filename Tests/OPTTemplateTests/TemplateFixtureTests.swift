import Foundation
import Testing
@testable import OPTTemplate
import TestSupport

/// Where the committed fixtures live: found from this file, through the scratch-package symlinks if any.
enum Paths {
    static let packageRoot = RepositoryPaths.packageRoot

    static let templateFixtures = RepositoryPaths.fixtures("template")
}

/// One case rendered by Jinja2 3.1.6 (tools/make_template_fixtures.py).
struct FixtureCase: Sendable {
    let name: String
    let template: String
    let variables: [String: TemplateValue]
    let output: String?
    let error: String?

    static func loadAll() throws -> [FixtureCase] {
        let text = try String(contentsOf: Paths.templateFixtures.appendingPathComponent("cases.jsonl"), encoding: .utf8)
        return try text.split(separator: "\n").map { line in
            let record = try TemplateValue(json: String(line))
            guard case .dict(let d) = record, case .string(let name)? = d["name"], case .string(let template)? = d["template"],
                case .dict(let vars)? = d["variables"]
            else { throw TemplateError(kind: .value, reason: "bad fixture line", templateName: "cases.jsonl", line: 0, column: 0) }
            var variables: [String: TemplateValue] = [:]
            for (k, v) in zip(vars.keys, vars.values) {
                if case .string(let key) = k { variables[key] = v }
            }
            var output: String? = nil
            if case .string(let o)? = d["output"] { output = o }
            var error: String? = nil
            if case .string(let e)? = d["error"] { error = e }
            return FixtureCase(name: name, template: template, variables: variables, output: output, error: error)
        }
    }
}

@Suite struct TemplateFixtureTests {
    @Test func fixturesRenderLikeJinja() throws {
        let cases = try FixtureCase.loadAll()
        #expect(cases.count >= 300)
        var failures: [String] = []
        for c in cases {
            let result: Result<String, TemplateError>
            do {
                let template = try Template(c.template, name: c.name)
                result = .success(try template.render(c.variables))
            } catch {
                result = .failure(error)
            }
            switch (result, c.output, c.error) {
            case (.success(let got), let want?, _):
                if got != want { failures.append("\(c.name): got \(got.debugDescription), want \(want.debugDescription)") }
            case (.failure(let e), let want?, _):
                failures.append("\(c.name): threw \(e), want \(want.debugDescription)")
            case (.success(let got), nil, let error?):
                failures.append("\(c.name): rendered \(got.debugDescription), want \(error)")
            case (.failure(let e), nil, let error?):
                if e.kind.rawValue != error { failures.append("\(c.name): threw \(e.kind.rawValue) (\(e.reason)), want \(error)") }
            default:
                failures.append("\(c.name): fixture has neither output nor error")
            }
        }
        #expect(failures.isEmpty, "\(failures.count) of \(cases.count) cases differ:\n\(failures.joined(separator: "\n"))")
    }
}
