# portal messages (ru)
portal-brand = Мой профиль в миграционном реестре
portal-nav-label = Личный кабинет
portal-nav-profile = Мой профиль
portal-nav-access-log = Кто смотрел
portal-nav-share-codes = Коды для проверки
portal-nav-pass = QR-пропуск
portal-nav-corrections = Исправления
portal-nav-arrival = Планируемый въезд
portal-nav-sign-in = Вход
portal-sign-out = Выйти
portal-footer = Реестр показывает вам всё, что о вас хранит, и каждое обращение к этим данным. Статусы — это сведения для человека, который принимает решение; сам реестр ничего не решает.
portal-date-hint = Как в документе: год-месяц-день (1991-07-14) или день.месяц.год (14.07.1991).
portal-yes = да
portal-no = нет
portal-revoke = Отозвать
portal-disputed = Оспаривается

## Sign-in
portal-sign-in-title = Вход в профиль
portal-sign-in-intro = Введите номер паспорта или удостоверения личности и дату рождения. Если они совпадут с нашими данными, мы отправим одноразовый код на телефон или электронную почту, известные реестру.
portal-sign-in-document-hint = Как напечатано в документе; пробелы и дефисы не важны (FA 1234567).
portal-sign-in-submit = Получить код
portal-sign-in-privacy = Ради вашей безопасности ответ одинаков, совпали данные или нет: код приходит только при совпадении.
portal-code-title = Введите код
portal-code-intro = Если документ и дата рождения совпали с нашими данными, шестизначный код уже отправлен. Он действует до { $expires }.
portal-code-hint = Шесть цифр из присланного сообщения.
portal-code-submit = Войти
portal-code-again = Начать заново

## Profile
portal-profile-title = Мой профиль
portal-profile-intro = Всё, что реестр хранит о вас, сведение за сведением: с ведомством, которое его передало, и датами. Если что-то неверно, попросите исправить.
portal-profile-identity = Кто вы, по записям ведомств
portal-profile-names = Имена
portal-profile-documents = Документы и идентификаторы
portal-profile-caption = { $category }: действующие сведения и их источник
portal-profile-source = Источник
portal-profile-details = Сведения
portal-profile-valid = Действует
portal-profile-received = Получено
portal-profile-correction = Исправление
portal-profile-request-correction = Попросить исправить

## Access log
portal-access-title = Кто смотрел мои данные
portal-access-intro = Каждое обращение к вашим данным и каждое изменение: кто, из какого ведомства, с какой целью и когда — и ваши собственные просмотры тоже.
portal-access-delay = Обращения полиции в рамках расследования появляются здесь с задержкой, установленной законом (не более 90 дней), но обязательно появляются.
portal-access-caption = { $count ->
    [one] { $count } запись, сначала новые
    [few] { $count } записи, сначала новые
   *[other] { $count } записей, сначала новые
}
portal-access-when = Когда
portal-access-agency = Ведомство
portal-access-who = Кто
portal-access-purpose = Цель
portal-access-case = Дело
portal-access-what = Что
portal-access-outcome = Итог
portal-access-proofs = Каждая запись внесена в защищённый от подделки журнал: через API к каждой записи выдаётся доказательство, которое может проверить любой.
portal-actor-officer = сотрудник { $login }
portal-actor-you = вы
portal-actor-system = система ведомства № { $id }
portal-actor-share-code = проверяющий с вашим кодом
portal-outcome-allowed = разрешено
portal-outcome-refused = отказано

## Share codes
portal-share-title = Коды для проверки
portal-share-intro = Код для проверки позволяет работодателю или арендодателю проверить ваш статус для одной цели. Он вводит код и вашу дату рождения и видит только то, что нужно для этой цели, — никогда не ваши долги, правонарушения или здоровье.
portal-share-new = Новый код
portal-share-purpose-work = Работа
portal-share-purpose-rent = Аренда жилья
portal-share-purpose-other = Другое
portal-share-purpose-work-hint = Показывает право на работу, его условия и срок, а также ваше имя.
portal-share-purpose-rent-hint = Показывает, законно ли вы находитесь в стране и до какого числа.
portal-share-purpose-other-hint = Показывает только, законно ли вы находитесь в стране.
portal-share-days-hint = Сколько дней действует код: от 1 до { $max }. Оставьте пустым — будет { $max }.
portal-share-submit = Создать код
portal-share-created = Ваш код для цели «{ $purpose }», действует до { $expires }:
portal-share-created-once = Запишите его или передайте сейчас: он показывается только один раз. Проверяющему понадобится и ваша дата рождения.
portal-share-list = Мои коды
portal-share-caption = Ваши коды для проверки, сначала новые
portal-share-created-on = Создан
portal-share-expires-on = Действует до
portal-share-state = Состояние
portal-share-failed = Введено неверных дат рождения
portal-share-action = Действие
portal-share-none = У вас пока нет кодов.
portal-code-state-active = действует
portal-code-state-expired = истёк
portal-code-state-revoked = отозван
portal-code-state-locked = заблокирован (слишком много неверных дат рождения)

## QR pass
portal-pass-title = Мой QR-пропуск
portal-pass-intro = Подписанный QR-пропуск подтверждает ваш статус без связи с реестром: любой может проверить его офлайн по опубликованным ключам реестра. В нём только законность пребывания и право на работу, а по вашему выбору — и ваши личные данные.
portal-pass-valid-until = действует до { $expires }
portal-pass-alt = QR-код вашего пропуска ({ $view }), действует до { $expires }
portal-pass-download-png = Скачать PNG
portal-pass-download-svg = Скачать SVG
portal-pass-new = Выпустить новый пропуск
portal-pass-view-status_only = Только статус
portal-pass-view-status_identity = Статус и мои личные данные
portal-pass-view-status_only-hint = Законность пребывания и право на работу, без имени.
portal-pass-view-status_identity-hint = Также имя, дата рождения и номер документа — для проверки личности.
portal-pass-days-hint = Сколько дней действует пропуск: от 1 до { $max }. Оставьте пустым — будет 30.
portal-pass-submit = Выпустить пропуск
portal-pass-list = Мои пропуска
portal-pass-caption = Ваши пропуска, сначала новые
portal-pass-issued-on = Выпущен
portal-pass-none = У вас пока нет пропусков.
portal-pass-state-active = действует
portal-pass-state-expired = истёк
portal-pass-state-revoked = отозван

## Corrections
portal-corrections-title = Исправления
portal-corrections-intro = Если сведение о вас неверно, попросите ведомство, которое его передало, исправить его. Пока ведомство не ответит, все, кто видит это сведение, видят отметку «оспаривается».
portal-corrections-new = Попросить исправить
portal-corrections-record-hint = Сведение, которое вы оспариваете: категория, ведомство и номер записи.
portal-corrections-choose = Выбрать это сведение
portal-corrections-fields-hint = Отметьте все неверные поля.
portal-corrections-explanation-hint = Что неверно и как правильно, своими словами (до 4000 знаков).
portal-corrections-submit = Отправить просьбу
portal-corrections-sent = Ваша просьба направлена: { $agency }. Ответ должен быть дан до { $due }.
portal-corrections-list = Мои просьбы
portal-corrections-caption = Ваши просьбы об исправлении, сначала старые
portal-corrections-filed = Отправлена
portal-corrections-record = Сведение
portal-corrections-status = Статус
portal-corrections-due = Срок ответа
portal-corrections-answer = Ответ
portal-corrections-none = Вы ещё не просили ничего исправить.
portal-correction-status-open = ждёт ответа
portal-correction-status-overdue = срок ответа истёк
portal-correction-status-accepted = принята
portal-correction-status-rejected = отклонена

## Planned arrival
portal-arrival-title = Уведомить о планируемом въезде
portal-arrival-intro = Въезжаете без визы? Сообщите реестру, когда планируете въехать и выехать, с какой целью и где будете жить (не более { $days } дней). Уведомление станет записью вашего профиля.
portal-arrival-new = Новое уведомление
portal-arrival-address_region-hint = Двузначный код региона: 77 Москва, 78 Санкт-Петербург, 50 Московская область.
portal-arrival-address_city-hint = Город или населённый пункт.
portal-arrival-address_street-hint = Улица, дом и квартира.
portal-arrival-checkpoint-hint = Необязательно: аэропорт или пункт пропуска через границу.
portal-arrival-submit = Отправить уведомление
portal-arrival-sent = Ваше уведомление внесено в реестр.
portal-arrival-list = Мои уведомления
portal-arrival-caption = Ваши уведомления о планируемом въезде, сначала новые
portal-arrival-sent-on = Отправлено
portal-arrival-none = Вы ещё не отправляли уведомлений.

## Errors (next to the field)
portal-error-rate-limited = Слишком много попыток. Подождите { $minutes ->
    [one] { $minutes } минуту
    [few] { $minutes } минуты
   *[other] { $minutes } минут
} и попробуйте снова.
portal-error-wrong-code = Код неверен. { $attempts ->
    [one] Осталась { $attempts } попытка.
    [few] Осталось { $attempts } попытки.
   *[other] Осталось { $attempts } попыток.
} Проверьте цифры в сообщении.
portal-error-code-expired = Срок действия кода истёк. Начните заново, чтобы получить новый.
portal-error-code-locked = Слишком много неверных кодов: этот вход закрыт. Начните заново, чтобы получить новый код.
portal-error-sign-in-unknown = Этот вход завершён или неизвестен. Начните заново.
portal-error-already-disputed = Одно из отмеченных полей уже оспаривается в незакрытой просьбе. Отметьте только остальные или дождитесь ответа.
portal-error-record-not-found = Этого сведения больше нет в вашем профиле (возможно, его заменили). Выберите сведение заново.
portal-error-identity-unknown = В реестре нет вместе вашего имени, даты рождения и документа. Выберите «Только статус».
portal-rule-required = { $field }: это поле обязательно. Заполните его.
portal-rule-type = { $field }: впишите целое число.
portal-rule-length = { $field }: текст пуст или слишком длинный. Сократите или дополните его.
portal-rule-enum = { $field }: выберите один из предложенных вариантов.
portal-rule-format = { $field }: неверный формат. Следуйте примеру под полем.
portal-rule-date_format = { $field }: впишите полную дату, например 1991-07-14 или 14.07.1991.
portal-rule-date_impossible = { $field }: такого дня нет в календаре. Проверьте день и месяц.
portal-rule-date_range = { $field }: дата вне допустимого периода. Планируемый въезд — сегодня или позже; дата рождения — в прошлом.
portal-rule-date_order = { $field }: эта дата раньше той, за которой она должна идти. Проверьте обе даты.
portal-rule-range = { $field }: значение вне допустимых пределов. См. подсказку под полем.
portal-rule-checksum = { $field }: контрольные цифры не сходятся. Проверьте номер.

## Field names
portal-field-document_number = Номер документа
portal-field-birth_date = Дата рождения
portal-field-citizenship = Гражданство
portal-field-code = Код
portal-field-purpose = Цель
portal-field-valid_days = Срок действия, дней
portal-field-view = Что показывает пропуск
portal-field-record_id = Сведение
portal-field-fields = Неверные поля
portal-field-explanation = Пояснение
portal-field-arrival_on = Дата въезда
portal-field-departure_on = Дата выезда
portal-field-address = Адрес пребывания
portal-field-address_region = Регион
portal-field-address_city = Город
portal-field-address_street = Улица, дом, квартира
portal-field-checkpoint = Пункт пропуска
portal-field-valid_from = Действует с
portal-field-valid_to = Действует по
portal-field-registered_on = Дата постановки на учёт
portal-field-expires_on = Действует до
portal-field-host_kind = Принимающая сторона
portal-field-host_name = Наименование принимающей стороны
portal-field-host_inn = ИНН принимающей стороны
portal-field-kind = Вид
portal-field-application_number = Номер заявления
portal-field-submitted_on = Подано
portal-field-status = Статус
portal-field-decided_on = Дата решения
portal-field-office = Подразделение
portal-field-number = Номер
portal-field-issued_on = Дата выдачи
portal-field-issuer = Кем выдан
portal-field-region = Регион
portal-field-work_allowed = Работа разрешена
portal-field-profession = Профессия
portal-field-patent_paid_until = Патент оплачен до
portal-field-direction = Направление
portal-field-crossed_at = Время пересечения
portal-field-transport = Транспорт
portal-field-declared_purpose = Заявленная цель
portal-field-balance = Сальдо
portal-field-as_of = На дату
portal-field-tax_office = Налоговая инспекция
portal-field-employer_name = Работодатель
portal-field-employer_inn = ИНН работодателя
portal-field-position = Должность
portal-field-started_on = Начало
portal-field-ended_on = Окончание
portal-field-contract = Договор
portal-field-notified_on = Дата уведомления
portal-field-salary = Заработная плата в месяц
portal-field-operator = Оператор
portal-field-verified = Подтверждён
portal-field-event = Событие
portal-field-event_on = Дата события
portal-field-register_number = Номер в регистре
portal-field-visa_number = Номер визы
portal-field-entries = Количество въездов
portal-field-issuing_post = Место выдачи
portal-field-stay_days = Дней пребывания
portal-field-policy_number = Номер полиса
portal-field-insurer = Страховщик
portal-field-esia_id = Учётная запись Госуслуг
portal-field-level = Уровень
portal-field-created_on = Создана
portal-field-institution = Учебное заведение
portal-field-programme = Программа
portal-field-country = Страна
portal-field-decision = Решение
portal-field-fine_amount = Штраф
portal-field-paid = Оплачен
portal-field-authority = Орган
portal-field-article = Статья

## Identifiers
portal-identifier-passport = Паспорт
portal-identifier-national_id = Удостоверение личности
portal-identifier-snils = СНИЛС
portal-identifier-inn = ИНН
portal-identifier-esia = Учётная запись Госуслуг

## Categories
portal-category-migration_registration = Миграционный учёт
portal-category-stay_application = Заявления о пребывании
portal-category-stay_document = Документы на пребывание
portal-category-border_crossing = Пересечения границы
portal-category-diplomatic_accreditation = Дипломатическая аккредитация
portal-category-administrative_offence = Административные правонарушения
portal-category-entry_ban = Запреты въезда
portal-category-vehicle = Транспортные средства
portal-category-driving_licence = Водительские удостоверения
portal-category-small_vessel_licence = Удостоверения на маломерные суда
portal-category-real_estate = Недвижимость
portal-category-employment = Трудовая деятельность
portal-category-tax_debt = Налоги
portal-category-school_language_test = Школьное тестирование по русскому языку
portal-category-education_enrolment = Обучение
portal-category-education_document = Документы об образовании
portal-category-language_certificate = Сертификаты о знании языка
portal-category-medical_insurance = Медицинское страхование
portal-category-medical_examination = Медицинские освидетельствования
portal-category-phone_number = Номера телефонов
portal-category-snils = СНИЛС
portal-category-esia_account = Учётная запись Госуслуг
portal-category-population_register = Регистр населения
portal-category-visa = Визы
portal-category-planned_arrival = Планируемые въезды
portal-category-pass = QR-пропуска

## Agencies (the sources of records, and who looked)
portal-agency-mvd-migration = МВД, по вопросам миграции
portal-agency-mvd-offences = МВД, полиция
portal-agency-fsb-border = Пограничная служба
portal-agency-fns = Налоговая служба
portal-agency-gibdd = Госавтоинспекция
portal-agency-sfr = Социальный фонд
portal-agency-mid = МИД
portal-agency-minobr = Минобрнауки и Минпросвещения
portal-agency-minzdrav = Минздрав
portal-agency-rosreestr = Росреестр
portal-agency-rossvyaz = Россвязь
portal-agency-ffoms = Фонд ОМС
portal-agency-insurers = Страховые компании
portal-agency-esia = Госуслуги
portal-agency-ern = Регистр населения
portal-agency-gims = ГИМС
portal-agency-portal = Вы, через этот кабинет
portal-agency-person = Вы

## Roles
portal-role-person = вы сами
portal-role-migration_officer = сотрудник по вопросам миграции
portal-role-border_guard = пограничник
portal-role-police_officer = сотрудник полиции
portal-role-tax_inspector = налоговый инспектор
portal-role-traffic_police = инспектор ГИБДД
portal-role-social_fund_officer = сотрудник Социального фонда
portal-role-consular_officer = консульский сотрудник
portal-role-education_officer = сотрудник органа образования
portal-role-health_officer = сотрудник органа здравоохранения
portal-role-labour_inspector = инспектор труда
portal-role-analyst = аналитик
portal-role-source_system = система ведомства
portal-role-share_code_checker = проверка по коду

## Purposes
portal-purpose-own_data = ваш собственный просмотр
portal-purpose-stay_control = контроль пребывания
portal-purpose-identity_review = проверка личности
portal-purpose-correction_handling = рассмотрение исправления
portal-purpose-correction_request = ваша просьба об исправлении
portal-purpose-border_control = пограничный контроль
portal-purpose-street_check = проверка документов на улице
portal-purpose-law_enforcement = расследование
portal-purpose-tax_administration = налоги
portal-purpose-vehicle_registration = регистрация транспорта
portal-purpose-social_insurance = социальное страхование
portal-purpose-visa_issuance = оформление визы
portal-purpose-education = образование
portal-purpose-public_health = охрана здоровья населения
portal-purpose-labour_control = контроль трудовой деятельности
portal-purpose-statistics = статистика
portal-purpose-record_submission = передача сведений
portal-purpose-arrival_notice = ваше уведомление о въезде
portal-purpose-work = проверка для работы
portal-purpose-rent = проверка для аренды
portal-purpose-other = проверка законности пребывания

## Actions
portal-action-read = просмотр
portal-action-write = запись
portal-action-search = поиск
portal-action-review = рассмотрение
portal-action-check = проверка
portal-action-deliver = передача
portal-action-erase = удаление

## Values
portal-value-work = работа
portal-value-study = учёба
portal-value-private = частный визит
portal-value-tourism = туризм
portal-value-business = деловая поездка
portal-value-official = служебная
portal-value-other = иное
portal-value-transit = транзит
portal-value-entry = въезд
portal-value-exit = выезд
portal-value-air = воздушный
portal-value-road = автомобильный
portal-value-rail = железнодорожный
portal-value-patent = патент
portal-value-visa = виза
portal-value-temporary_residence_permit = разрешение на временное проживание
portal-value-residence_permit = вид на жительство
portal-value-person = физическое лицо
portal-value-organisation = организация
portal-value-initial = первичная постановка
portal-value-extension = продление
portal-value-departure = снятие с учёта
portal-value-labour = трудовой договор
portal-value-civil = гражданско-правовой договор
