# portal messages (en)
portal-brand = My profile in the migration registry
portal-nav-label = Portal
portal-nav-profile = My profile
portal-nav-access-log = Who looked
portal-nav-share-codes = Share codes
portal-nav-pass = QR pass
portal-nav-corrections = Corrections
portal-nav-arrival = Planned arrival
portal-nav-sign-in = Sign in
portal-sign-out = Sign out
portal-footer = The registry shows you everything it holds about you and every look at it. Statuses are information for a person who decides; the registry decides nothing by itself.
portal-date-hint = As on your document: year-month-day (1991-07-14) or day.month.year (14.07.1991).
portal-yes = yes
portal-no = no
portal-revoke = Revoke
portal-disputed = Disputed

## Sign-in
portal-sign-in-title = Sign in to your profile
portal-sign-in-intro = Enter the number of your passport or identity card and your date of birth. If they match our records, we send a one-time code to the phone or e-mail the registry holds for you.
portal-sign-in-document-hint = As printed in the document; spaces and dashes do not matter (FA 1234567).
portal-sign-in-submit = Send me a code
portal-sign-in-privacy = For your safety the answer is the same whether or not the data match: only a match gets a code.
portal-code-title = Enter the code
portal-code-intro = If the document and date of birth match our records, a six-digit code is on its way. It works until { $expires }.
portal-code-hint = Six digits, from the message we sent.
portal-code-submit = Sign in
portal-code-again = Start again

## Profile
portal-profile-title = My profile
portal-profile-intro = Everything the registry holds about you, fact by fact, each with the agency that sent it and its dates. If something is wrong, ask for a correction.
portal-profile-identity = Who you are, as the sources wrote it
portal-profile-names = Names
portal-profile-documents = Documents and identifiers
portal-profile-caption = { $category }: the facts in force, with their source
portal-profile-source = Source
portal-profile-details = Details
portal-profile-valid = Valid
portal-profile-received = Received
portal-profile-correction = Correction
portal-profile-request-correction = Ask for a correction

## Access log
portal-access-title = Who looked at my data
portal-access-intro = Every look at your data and every change: who, from which agency, for what purpose and when — your own views too.
portal-access-delay = Reads by the police for an investigation appear here after a delay set by law (at most 90 days), never later.
portal-access-caption = { $count ->
    [one] One entry, newest first
   *[other] { $count } entries, newest first
}
portal-access-when = When
portal-access-agency = Agency
portal-access-who = Who
portal-access-purpose = Purpose
portal-access-case = Case
portal-access-what = What
portal-access-outcome = Outcome
portal-access-proofs = Each entry is in a tamper-evident log: the API gives a proof for every entry that anyone can check.
portal-actor-officer = officer { $login }
portal-actor-you = you
portal-actor-system = agency system no. { $id }
portal-actor-share-code = a checker with your share code
portal-outcome-allowed = allowed
portal-outcome-refused = refused

## Share codes
portal-share-title = Share codes
portal-share-intro = A share code lets an employer or a landlord check your status for one purpose. They enter the code with your date of birth and see only what that purpose needs — never your debts, offences or health.
portal-share-new = Make a new code
portal-share-purpose-work = Work
portal-share-purpose-rent = Renting a home
portal-share-purpose-other = Other
portal-share-purpose-work-hint = Shows your right to work, its conditions and end date, and your name.
portal-share-purpose-rent-hint = Shows whether you stay lawfully, and until when.
portal-share-purpose-other-hint = Shows only whether you stay lawfully.
portal-share-days-hint = How many days the code works: 1 to { $max }. Leave empty for { $max }.
portal-share-submit = Make the code
portal-share-created = Your code for “{ $purpose }”, valid until { $expires }:
portal-share-created-once = Write it down or give it now: it is shown only once. Whoever checks it also needs your date of birth.
portal-share-list = My codes
portal-share-caption = Your share codes, newest first
portal-share-created-on = Made on
portal-share-expires-on = Valid until
portal-share-state = State
portal-share-failed = Wrong dates of birth entered
portal-share-action = Action
portal-share-none = You have no share codes yet.
portal-code-state-active = active
portal-code-state-expired = expired
portal-code-state-revoked = revoked
portal-code-state-locked = locked (too many wrong dates of birth)

## QR pass
portal-pass-title = My QR pass
portal-pass-intro = A signed QR pass proves your status without a connection: anyone can check it offline with the registry's published keys. It states only your lawful stay and right to work, with your identity if you choose.
portal-pass-valid-until = valid until { $expires }
portal-pass-alt = QR code of your pass ({ $view }), valid until { $expires }
portal-pass-download-png = Download PNG
portal-pass-download-svg = Download SVG
portal-pass-new = Issue a new pass
portal-pass-view-status_only = Status only
portal-pass-view-status_identity = Status with my identity
portal-pass-view-status_only-hint = Lawful stay and right to work, without your name.
portal-pass-view-status_identity-hint = Also your name, date of birth and document number, for a check of your identity.
portal-pass-days-hint = How many days the pass works: 1 to { $max }. Leave empty for 30.
portal-pass-submit = Issue the pass
portal-pass-list = My passes
portal-pass-caption = Your passes, newest first
portal-pass-issued-on = Issued on
portal-pass-none = You have no passes yet.
portal-pass-state-active = active
portal-pass-state-expired = expired
portal-pass-state-revoked = revoked

## Corrections
portal-corrections-title = Corrections
portal-corrections-intro = If a fact about you is wrong, ask the agency that sent it to correct it. Until it answers, everyone who sees the fact sees it marked as disputed.
portal-corrections-new = Ask for a correction
portal-corrections-record-hint = The fact you dispute, by category, agency and reference.
portal-corrections-choose = Choose this fact
portal-corrections-fields-hint = Tick every field that is wrong.
portal-corrections-explanation-hint = What is wrong and what is right, in your own words (up to 4000 characters).
portal-corrections-submit = Send the request
portal-corrections-sent = Your request went to { $agency }. It must answer by { $due }.
portal-corrections-list = My requests
portal-corrections-caption = Your correction requests, oldest first
portal-corrections-filed = Sent on
portal-corrections-record = Fact
portal-corrections-status = Status
portal-corrections-due = Answer due
portal-corrections-answer = Answer
portal-corrections-none = You have not asked for any correction.
portal-correction-status-open = waiting for the answer
portal-correction-status-overdue = overdue
portal-correction-status-accepted = accepted
portal-correction-status-rejected = rejected

## Planned arrival
portal-arrival-title = Notify a planned arrival
portal-arrival-intro = Coming without a visa? Tell the registry when you plan to arrive and leave, why and where you will stay (at most { $days } days). The notice becomes a record of your profile.
portal-arrival-new = New notice
portal-arrival-address_region-hint = Two-digit region code: 77 Moscow, 78 Saint Petersburg, 50 Moscow region.
portal-arrival-address_city-hint = City or settlement.
portal-arrival-address_street-hint = Street, house and flat.
portal-arrival-checkpoint-hint = Optional: the airport or border crossing you will use.
portal-arrival-submit = Send the notice
portal-arrival-sent = Your notice is in the registry.
portal-arrival-list = My notices
portal-arrival-caption = Your notices of planned arrival, newest first
portal-arrival-sent-on = Sent on
portal-arrival-none = You have sent no notices.

## Errors (next to the field)
portal-error-rate-limited = Too many attempts. Wait { $minutes ->
    [one] a minute
   *[other] { $minutes } minutes
} and try again.
portal-error-wrong-code = The code is wrong. { $attempts ->
    [one] One attempt left.
   *[other] { $attempts } attempts left.
} Check the digits in the message.
portal-error-code-expired = The code has expired. Start again to get a new one.
portal-error-code-locked = Too many wrong codes: this sign-in is closed. Start again to get a new code.
portal-error-sign-in-unknown = This sign-in is over or unknown. Start again.
portal-error-already-disputed = A field you ticked is disputed already by a request still open. Tick only the others, or wait for the answer.
portal-error-record-not-found = This fact is no longer in your profile (it may have been replaced). Choose the fact again.
portal-error-identity-unknown = The registry does not hold your name, date of birth and document together. Choose “Status only”.
portal-rule-required = { $field }: this field is required. Fill it in.
portal-rule-type = { $field }: write a whole number.
portal-rule-length = { $field }: the text is empty or too long. Shorten or complete it.
portal-rule-enum = { $field }: choose one of the options offered.
portal-rule-format = { $field }: the format is not right. Follow the example under the field.
portal-rule-date_format = { $field }: write a full date, such as 1991-07-14 or 14.07.1991.
portal-rule-date_impossible = { $field }: no such day in the calendar. Check the day and month.
portal-rule-date_range = { $field }: the date is out of range. A planned arrival is today or later; a date of birth is in the past.
portal-rule-date_order = { $field }: this date is before the one it follows. Check both dates.
portal-rule-range = { $field }: the value is out of the allowed range. See the hint under the field.
portal-rule-checksum = { $field }: the check digits do not match. Check the number.

## Field names
portal-field-document_number = Document number
portal-field-birth_date = Date of birth
portal-field-citizenship = Citizenship
portal-field-code = Code
portal-field-purpose = Purpose
portal-field-valid_days = Days valid
portal-field-view = What the pass shows
portal-field-record_id = Fact
portal-field-fields = Wrong fields
portal-field-explanation = Explanation
portal-field-arrival_on = Arrival date
portal-field-departure_on = Departure date
portal-field-address = Address of stay
portal-field-address_region = Region
portal-field-address_city = City
portal-field-address_street = Street, house, flat
portal-field-checkpoint = Border crossing point
portal-field-valid_from = Valid from
portal-field-valid_to = Valid to
portal-field-registered_on = Registered on
portal-field-expires_on = Expires on
portal-field-host_kind = Host
portal-field-host_name = Host's name
portal-field-host_inn = Host's INN
portal-field-kind = Kind
portal-field-application_number = Application number
portal-field-submitted_on = Submitted on
portal-field-status = Status
portal-field-decided_on = Decided on
portal-field-office = Office
portal-field-number = Number
portal-field-issued_on = Issued on
portal-field-issuer = Issued by
portal-field-region = Region
portal-field-work_allowed = Work allowed
portal-field-profession = Profession
portal-field-patent_paid_until = Patent paid until
portal-field-direction = Direction
portal-field-crossed_at = Crossed at
portal-field-transport = Transport
portal-field-declared_purpose = Declared purpose
portal-field-balance = Balance
portal-field-as_of = As of
portal-field-tax_office = Tax office
portal-field-employer_name = Employer
portal-field-employer_inn = Employer's INN
portal-field-position = Position
portal-field-started_on = Started on
portal-field-ended_on = Ended on
portal-field-contract = Contract
portal-field-notified_on = Notified on
portal-field-salary = Monthly salary
portal-field-operator = Operator
portal-field-verified = Verified
portal-field-event = Event
portal-field-event_on = Date of the event
portal-field-register_number = Register number
portal-field-visa_number = Visa number
portal-field-entries = Entries
portal-field-issuing_post = Issuing post
portal-field-stay_days = Days of stay
portal-field-policy_number = Policy number
portal-field-insurer = Insurer
portal-field-esia_id = Gosuslugi account
portal-field-level = Level
portal-field-created_on = Created on
portal-field-institution = Institution
portal-field-programme = Programme
portal-field-country = Country
portal-field-decision = Decision
portal-field-fine_amount = Fine
portal-field-paid = Paid
portal-field-authority = Authority
portal-field-article = Article

## Identifiers
portal-identifier-passport = Passport
portal-identifier-national_id = Identity card
portal-identifier-snils = SNILS
portal-identifier-inn = INN
portal-identifier-esia = Gosuslugi account

## Categories
portal-category-migration_registration = Migration registration
portal-category-stay_application = Applications for stay
portal-category-stay_document = Stay documents
portal-category-border_crossing = Border crossings
portal-category-diplomatic_accreditation = Diplomatic accreditation
portal-category-administrative_offence = Administrative offences
portal-category-entry_ban = Entry bans
portal-category-vehicle = Vehicles
portal-category-driving_licence = Driving licences
portal-category-small_vessel_licence = Small vessel licences
portal-category-real_estate = Real estate
portal-category-employment = Employment
portal-category-tax_debt = Taxes
portal-category-school_language_test = School language tests
portal-category-education_enrolment = Studies
portal-category-education_document = Education documents
portal-category-language_certificate = Language certificates
portal-category-medical_insurance = Medical insurance
portal-category-medical_examination = Medical examinations
portal-category-phone_number = Phone numbers
portal-category-snils = SNILS
portal-category-esia_account = Gosuslugi account
portal-category-population_register = Population register
portal-category-visa = Visas
portal-category-planned_arrival = Planned arrivals
portal-category-pass = QR passes

## Agencies (the sources of records, and who looked)
portal-agency-mvd-migration = Ministry of Internal Affairs, migration
portal-agency-mvd-offences = Ministry of Internal Affairs, police
portal-agency-fsb-border = Border service
portal-agency-fns = Tax service
portal-agency-gibdd = Traffic police
portal-agency-sfr = Social Fund
portal-agency-mid = Ministry of Foreign Affairs
portal-agency-minobr = Ministry of Education
portal-agency-minzdrav = Ministry of Health
portal-agency-rosreestr = Property register (Rosreestr)
portal-agency-rossvyaz = Communications agency
portal-agency-ffoms = Compulsory Medical Insurance Fund
portal-agency-insurers = Insurance companies
portal-agency-esia = Gosuslugi
portal-agency-ern = Population register
portal-agency-gims = Small vessels inspection
portal-agency-portal = You, through this portal
portal-agency-person = You

## Roles
portal-role-person = yourself
portal-role-migration_officer = migration officer
portal-role-border_guard = border guard
portal-role-police_officer = police officer
portal-role-tax_inspector = tax inspector
portal-role-traffic_police = traffic police officer
portal-role-social_fund_officer = Social Fund officer
portal-role-consular_officer = consular officer
portal-role-education_officer = education officer
portal-role-health_officer = health officer
portal-role-labour_inspector = labour inspector
portal-role-analyst = analyst
portal-role-source_system = agency system
portal-role-share_code_checker = share-code checker

## Purposes
portal-purpose-own_data = your own view
portal-purpose-stay_control = control of stay
portal-purpose-identity_review = identity check
portal-purpose-correction_handling = handling a correction
portal-purpose-correction_request = your correction request
portal-purpose-border_control = border control
portal-purpose-street_check = street check
portal-purpose-law_enforcement = investigation
portal-purpose-tax_administration = taxes
portal-purpose-vehicle_registration = vehicle registration
portal-purpose-social_insurance = social insurance
portal-purpose-visa_issuance = visa issuance
portal-purpose-education = education
portal-purpose-public_health = public health
portal-purpose-labour_control = labour control
portal-purpose-statistics = statistics
portal-purpose-record_submission = sending records
portal-purpose-arrival_notice = your arrival notice
portal-purpose-work = check for work
portal-purpose-rent = check for renting
portal-purpose-other = check of lawful stay

## Actions
portal-action-read = read
portal-action-write = wrote
portal-action-search = searched
portal-action-review = reviewed
portal-action-check = checked
portal-action-deliver = delivered
portal-action-erase = erased

## Values
portal-value-work = work
portal-value-study = study
portal-value-private = private visit
portal-value-tourism = tourism
portal-value-business = business
portal-value-official = official
portal-value-other = other
portal-value-transit = transit
portal-value-entry = entry
portal-value-exit = exit
portal-value-air = air
portal-value-road = road
portal-value-rail = rail
portal-value-patent = patent
portal-value-visa = visa
portal-value-temporary_residence_permit = temporary residence permit
portal-value-residence_permit = residence permit
portal-value-person = private person
portal-value-organisation = organisation
portal-value-initial = first registration
portal-value-extension = extension
portal-value-departure = departure
portal-value-labour = labour contract
portal-value-civil = civil contract
